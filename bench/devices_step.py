"""A CA step point (move + read 3 PVs) through the device layer vs a hand-written aioca loop.

    python -m bench.devices_step [--n 1000] [--runs 7] [--motor-points 40]

1. EPICS base IOC (private ports): the "motor" is an ao record (its put-callback completes
   when the record and its forward link have processed) and the detector is 3 records,
   one of them a calc forward-linked from the ao (a CP link would update it
   asynchronously, after the put-callback, and readings could be stale in both loops).
   Device layer: ``await ao.set(x)`` (a Status) then ``await det.read()`` (a 3-signal
   StandardReadable). Hand-written: ``caput(ao, x, wait=True)`` then
   ``caget([3 PVs], format=FORMAT_TIME)``. Target: device/raw <= 1.1.
2. The simulated beamline's motor record (VELO 100): ``EpicsMotor.set`` + read of 3 PVs vs
   ``caput(VAL, wait=True)`` + caget; moves take the IOC's 20 ms motion ticks, so this
   one shows that the layer adds nothing visible to a real move.
Every point checks that the value read is the one just written (never stale). The base
IOC step in ophyd-async is shown beside it when ophyd-async is installed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench._devices_common import (
    STEP_RECORDS,
    base_ioc,
    ca_session,
    interleaved_medians,
    step_devices,
)


async def measure_base(prefix: str, n: int, runs: int) -> tuple[dict[str, float], int]:
    import aioca

    x, det, pvs = await step_devices(prefix)
    positions = itertools.cycle([i * 0.001 for i in range(1000)])
    stale = 0

    async def device_point() -> None:
        nonlocal stale
        target = next(positions)
        await x.set(target)
        reading = await det.read()
        stale += reading["det_value"]["value"] != target * 2

    async def raw_point() -> None:
        nonlocal stale
        target = next(positions)
        await aioca.caput(f"{prefix}x", target, wait=True)
        values = await aioca.caget(pvs, format=aioca.FORMAT_TIME)
        stale += values[0] != target * 2

    cases = {"hand-written aioca": raw_point, "device layer": device_point}
    ophyd = await ophyd_async_point(prefix, positions)
    if ophyd is not None:
        cases["ophyd-async"] = ophyd
    try:
        medians = await interleaved_medians(cases, n, runs)
    finally:
        aioca.purge_channel_caches()
    return medians, stale


async def ophyd_async_point(prefix: str, positions: Iterator[float]) -> Any:
    """The same step point in ophyd-async, when it is installed (else None)."""
    try:
        from ophyd_async.core import StandardReadable as OAReadable
        from ophyd_async.core import StandardReadableFormat
        from ophyd_async.epics.core import epics_signal_r, epics_signal_rw
    except ImportError:
        return None

    class OADetector(OAReadable):
        def __init__(self, name: str = "") -> None:
            with self.add_children_as_readables(StandardReadableFormat.HINTED_SIGNAL):
                self.value = epics_signal_r(float, f"{prefix}det")
            with self.add_children_as_readables():
                self.i0 = epics_signal_r(float, f"{prefix}i0")
                self.n = epics_signal_r(int, f"{prefix}n")
            super().__init__(name=name)

    x = epics_signal_rw(float, f"{prefix}x", name="x")
    det = OADetector(name="det")
    await x.connect(timeout=10)
    await det.connect(timeout=10)

    async def point() -> None:
        await x.set(next(positions))
        await det.read()

    return point


async def measure_motor(prefix: str, points: int) -> tuple[dict[str, float], int]:
    import aioca

    from devices import Format, StandardReadable, connect
    from devices.epics import EpicsMotor, EpicsSignalRO

    pvs = [f"{prefix}m1.RBV", f"{prefix}m2.RBV", f"{prefix}scaler1.S3"]

    class Readbacks(StandardReadable):
        def __init__(self, name: str = "") -> None:
            self.m1 = EpicsSignalRO(pvs[0])
            self.m2 = EpicsSignalRO(pvs[1])
            self.det = EpicsSignalRO(pvs[2])
            self.add_readables([self.m1, self.m2, self.det], Format.HINTED)
            super().__init__(name=name)

    m1 = EpicsMotor(f"{prefix}m1", name="m1")
    readbacks = Readbacks(name="rb")
    await connect(m1, readbacks, timeout=20)
    await aioca.caput(f"{prefix}m1.VMAX", 1000.0, wait=True)
    await m1.velocity.set(100.0)
    await m1.acceleration.set(0.001)
    stale = 0
    targets = itertools.cycle([0.0, 0.05, 0.1, 0.15])

    async def device_point() -> None:
        nonlocal stale
        target = next(targets)
        await m1.set(target)
        reading = await readbacks.read()
        stale += abs(reading["rb_m1"]["value"] - target) > 1e-6

    async def raw_point() -> None:
        nonlocal stale
        target = next(targets)
        await aioca.caput(f"{prefix}m1", target, wait=True)
        values = await aioca.caget(pvs, format=aioca.FORMAT_TIME)
        stale += abs(values[0] - target) > 1e-6

    async def timed(fn: object, k: int) -> list[float]:
        out = []
        for _ in range(k):
            start = time.perf_counter()
            await fn()  # type: ignore[operator]
            out.append(time.perf_counter() - start)
        return out

    try:
        samples: dict[str, list[float]] = {"hand-written aioca": [], "device layer": []}
        for _ in range(4):
            samples["hand-written aioca"] += await timed(raw_point, points // 4)
            samples["device layer"] += await timed(device_point, points // 4)
    finally:
        aioca.purge_channel_caches()
    return {k: statistics.median(v) for k, v in samples.items()}, stale


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="points per run (base IOC)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--motor-points", type=int, default=40)
    args = parser.parse_args(argv)
    from iocs.processes import start_sim_ioc, wait_for_pvs

    prefix = "bds:"
    with (
        ca_session(n_servers=2) as env,
        base_ioc(env, STEP_RECORDS, f"P={prefix}", wait_for=[f"{prefix}det"]),
    ):
        with tempfile.TemporaryDirectory() as tmp:
            sim = start_sim_ioc(env, env.server_ports[1], "bsim:", log=Path(tmp) / "sim.log")
            try:
                wait_for_pvs(["bsim:m1.RBV", "bsim:scaler1.S3"], timeout=30, process=sim)

                async def both() -> tuple:
                    base = await measure_base(prefix, args.n, args.runs)
                    motor = await measure_motor("bsim:", args.motor_points)
                    return base, motor

                (base, base_stale), (motor, motor_stale) = asyncio.run(both())
            finally:
                sim.stop()
    print("EPICS base ao + 3 PVs, median per point:")
    for name, seconds in base.items():
        print(f"  {name:>20}: {seconds * 1e3:.3f} ms")
    print(f"  stale readings: {base_stale}")
    print("sim motor record (VELO 100) + 3 PVs, median per point:")
    for name, seconds in motor.items():
        print(f"  {name:>20}: {seconds * 1e3:.3f} ms")
    print(f"  stale readings: {motor_stale}")
    ratio = base["device layer"] / base["hand-written aioca"]
    motor_ratio = motor["device layer"] / motor["hand-written aioca"]
    verdict = "OK" if ratio <= 1.1 else "OVER TARGET"
    if "ophyd-async" in base:
        oa_ratio = base["ophyd-async"] / base["hand-written aioca"]
        print(f"ophyd-async / hand-written: {oa_ratio:.3f}x")
    print(
        f"SUMMARY devices_step: device {base['device layer'] * 1e3:.3f} ms vs hand-written "
        f"{base['hand-written aioca'] * 1e3:.3f} ms per point = {ratio:.3f}x (target <= 1.1x, "
        f"{verdict}); sim motor record {motor_ratio:.3f}x; stale points "
        f"{base_stale + motor_stale}"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
