"""`read()` of a device with 3 CA signals vs a raw aioca `caget` of the same 3 PVs.

    python -m bench.devices_read [--n 2000] [--runs 7]

Both ask the same EPICS base IOC (private ports) for the same 3 PVs with FORMAT_TIME
(value + timestamp + severity, what a reading needs). Target: device/raw <= 1.1.
The same device in ophyd-async is shown beside it when ophyd-async is installed.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bench._devices_common import base_ioc, ca_session, interleaved_medians

RECORDS = """
record(ai, "$(P)a") { field(VAL, "1.0") field(EGU, "mm") field(PREC, "3") }
record(ai, "$(P)b") { field(VAL, "2.0") }
record(longin, "$(P)c") { field(VAL, "3") }
"""


async def measure(prefix: str, n: int, runs: int) -> dict[str, float]:
    import aioca

    from devices import Format, StandardReadable, connect
    from devices.epics import EpicsSignalRO

    pvs = [f"{prefix}a", f"{prefix}b", f"{prefix}c"]

    class Three(StandardReadable):
        def __init__(self, name: str = "") -> None:
            self.a = EpicsSignalRO(pvs[0])
            self.b = EpicsSignalRO(pvs[1])
            self.c = EpicsSignalRO(pvs[2])
            self.add_readables([self.a, self.b], Format.HINTED)
            self.add_readables([self.c])
            super().__init__(name=name)

    three = Three(name="three")
    await connect(three, timeout=10)

    cases = {
        "raw caget FORMAT_TIME": lambda: aioca.caget(pvs, format=aioca.FORMAT_TIME),
        "device.read()": three.read,
        "raw caget FORMAT_RAW": lambda: aioca.caget(pvs),
    }
    ophyd_three = await ophyd_async_device(pvs)
    if ophyd_three is not None:
        cases["ophyd-async read()"] = ophyd_three.read
    try:
        return await interleaved_medians(cases, n, runs)
    finally:
        aioca.purge_channel_caches()


async def ophyd_async_device(pvs: list[str]) -> Any:
    """The same 3-signal device in ophyd-async, when it is installed (else None)."""
    try:
        from ophyd_async.core import StandardReadable as OAReadable
        from ophyd_async.core import StandardReadableFormat
        from ophyd_async.epics.core import epics_signal_r
    except ImportError:
        return None

    class OAThree(OAReadable):
        def __init__(self, name: str = "") -> None:
            with self.add_children_as_readables(StandardReadableFormat.HINTED_SIGNAL):
                self.a = epics_signal_r(float, pvs[0])
                self.b = epics_signal_r(float, pvs[1])
            with self.add_children_as_readables():
                self.c = epics_signal_r(int, pvs[2])
            super().__init__(name=name)

    device = OAThree(name="three")
    await device.connect(timeout=10)
    return device


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="reads per run")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    prefix = "bdr:"
    with ca_session() as env, base_ioc(env, RECORDS, f"P={prefix}", wait_for=[f"{prefix}c"]):
        medians = asyncio.run(measure(prefix, args.n, args.runs))
    for name, seconds in medians.items():
        print(f"{name:>24}: {seconds * 1e3:.3f} ms per read of 3 PVs")
    ratio = medians["device.read()"] / medians["raw caget FORMAT_TIME"]
    verdict = "OK" if ratio <= 1.1 else "OVER TARGET"
    ophyd = medians.get("ophyd-async read()")
    beside = (
        f"; ophyd-async {ophyd * 1e3:.3f} ms = {ophyd / medians['raw caget FORMAT_TIME']:.3f}x"
        if ophyd
        else ""
    )
    print(
        f"SUMMARY devices_read: device.read() {medians['device.read()'] * 1e3:.3f} ms vs "
        f"raw caget {medians['raw caget FORMAT_TIME'] * 1e3:.3f} ms = {ratio:.3f}x "
        f"(target <= 1.1x, {verdict}){beside}"
    )


if __name__ == "__main__":
    main()
