"""Connect a device tree of 1,000 CA signals: ``await connect(...)`` wall time.

    python -m bench.devices_connect [--pvs 1000]

An EPICS base IOC (private ports) serves 1,000 ai records. The device layer's connect
creates each channel, waits for its first DBE_PROPERTY (FORMAT_CTRL) update, which brings
the metadata describe() needs, and checks the datatype. Shown beside it: a raw aioca
``connect`` of the same PVs (channels only, no metadata) on fresh channels, and
ophyd-async's connect of the same tree when it is installed. Target: < 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench._devices_common import base_ioc, ca_session

TARGET_S = 2.0


def records(n: int) -> str:
    return "".join(
        f'record(ai, "$(P)r{i}") {{ field(VAL, "{i}") field(EGU, "mm") field(PREC, "2") }}\n'
        for i in range(n)
    )


async def measure(prefix: str, n: int) -> dict[str, float]:
    import aioca

    from devices import Device, DeviceVector, connect
    from devices.epics import EpicsSignalRO

    class Big(Device):
        def __init__(self, name: str = "") -> None:
            self.signals = DeviceVector(
                {i: EpicsSignalRO(f"{prefix}r{i}", datatype=float) for i in range(n)}
            )
            super().__init__(name=name)

    figures: dict[str, float] = {}
    big = Big(name="big")
    start = time.perf_counter()
    await connect(big, timeout=30)
    figures["device connect (cold)"] = time.perf_counter() - start
    last = big.signals[n - 1]
    assert (await last.describe())[last.name]["units"] == "mm"  # metadata came with connect
    assert await last.get_value() == n - 1
    for signal in big.signals.values():
        signal.backend.close()
    aioca.purge_channel_caches()

    pvs = [f"{prefix}r{i}" for i in range(n)]
    start = time.perf_counter()
    await aioca.connect(pvs, timeout=30)
    figures["raw aioca.connect, channels only"] = time.perf_counter() - start
    start = time.perf_counter()
    await aioca.caget(pvs, format=aioca.FORMAT_CTRL, timeout=30)
    figures["  + raw caget FORMAT_CTRL of all"] = time.perf_counter() - start
    aioca.purge_channel_caches()

    again = Big(name="again")
    start = time.perf_counter()
    await connect(again, timeout=30)
    figures["device connect (second time, new channels)"] = time.perf_counter() - start
    aioca.purge_channel_caches()
    try:
        from ophyd_async.core import Device as OADevice
        from ophyd_async.core import DeviceVector as OADeviceVector
        from ophyd_async.epics.core import epics_signal_r
    except ImportError:
        return figures

    class OABig(OADevice):
        def __init__(self, name: str = "") -> None:
            self.signals = OADeviceVector(
                {i: epics_signal_r(float, f"{prefix}r{i}") for i in range(n)}
            )
            super().__init__(name=name)

    oa = OABig(name="oa")
    start = time.perf_counter()
    await oa.connect(timeout=30)
    figures["ophyd-async connect (new channels)"] = time.perf_counter() - start
    aioca.purge_channel_caches()
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pvs", type=int, default=1000)
    args = parser.parse_args(argv)
    prefix = "bdc:"
    with (
        ca_session() as env,
        base_ioc(env, records(args.pvs), f"P={prefix}", wait_for=[f"{prefix}r0"]),
    ):
        figures = asyncio.run(measure(prefix, args.pvs))
    for name, seconds in figures.items():
        print(f"{name:>45}: {seconds:.3f} s")
    cold = figures["device connect (cold)"]
    verdict = "OK" if cold < TARGET_S else "OVER TARGET"
    ophyd = figures.get("ophyd-async connect (new channels)")
    beside = f"; ophyd-async {ophyd:.3f} s" if ophyd is not None else ""
    print(
        f"SUMMARY devices_connect: {args.pvs} PVs connected with metadata in {cold:.3f} s "
        f"(raw aioca.connect {figures['raw aioca.connect, channels only']:.3f} s{beside}; "
        f"target < {TARGET_S:g} s, {verdict})"
    )


if __name__ == "__main__":
    main()
