"""A Channel Access step scan through the engine vs the hand-written aioca loop.

    python -m bench.engine_ca_scan [--n 300] [--runs 5]

EPICS base IOC (private ports): the "motor" is an ao record whose forward link processes
a calc (so a put-callback completes after the detector value is new), and the detector
is 3 PVs (the calc and two more records). Per point:

- hand-written: ``caput(x, v, wait=True)``, then ``caget`` of the 3 PVs;
- acq: ``RE(plan)`` with the same steps as messages (checkpoint, set, wait, create, read
  the 3-signal detector, save), `devices.epics` signals, documents emitted;
- bluesky + ophyd-async (when installed): the same messages with ophyd-async CA signals.

Every point checks that the detector value read is the one the new position produced.
Target: acq <= 1.15x the hand-written loop (bluesky + ophyd-async measured 2.2x here).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._devices_common import base_ioc, ca_session

RECORDS = """
record(ao, "$(P)x") { field(PREC, "3") field(EGU, "mm") field(FLNK, "$(P)det") }
record(calc, "$(P)det") { field(CALC, "A*2") field(INPA, "$(P)x NPP") }
record(ai, "$(P)i0") { field(VAL, "100") }
record(longin, "$(P)n") { field(VAL, "7") }
"""
TARGET = 1.15


def positions(n: int) -> list[float]:
    return [round((i % 1000) * 0.001, 3) for i in range(n)]


async def measure(prefix: str, n: int, runs: int) -> tuple[dict[str, float], int]:
    import aioca

    from acq import Msg, RunEngine
    from devices import Format, StandardReadable, connect
    from devices.epics import EpicsSignalRO, EpicsSignalRW

    class Detector(StandardReadable):
        def __init__(self, name: str = "") -> None:
            self.value = EpicsSignalRO(f"{prefix}det")
            self.i0 = EpicsSignalRO(f"{prefix}i0")
            self.n = EpicsSignalRO(f"{prefix}n")
            self.add_readables([self.value], Format.HINTED)
            self.add_readables([self.i0, self.n])
            super().__init__(name=name)

    x = EpicsSignalRW(f"{prefix}x", name="x", datatype=float)
    det = Detector(name="det")
    await connect(x, det, timeout=10)
    pvs = [f"{prefix}det", f"{prefix}i0", f"{prefix}n"]
    stale = 0

    async def hand_written() -> None:
        nonlocal stale
        for target in positions(n):
            await aioca.caput(f"{prefix}x", target, wait=True)
            values = await aioca.caget(pvs, format=aioca.FORMAT_TIME)
            stale += abs(values[0] - target * 2) > 1e-9

    def check(name: str, doc: dict) -> None:
        nonlocal stale
        data = doc["data"]
        stale += abs(data["det_value"] - 2 * checked_positions[doc["seq_num"] - 1]) > 1e-9

    checked_positions = positions(n)

    async def step_scan():
        yield Msg("open_run", plan_name="scan", motors=["x"], detectors=["det"],
                  num_points=n)
        for target in positions(n):
            yield Msg("checkpoint")
            yield Msg("set", x, target, group="move")
            yield Msg("wait", None, group="move")
            yield Msg("create", None, name="primary")
            yield Msg("read", det)
            yield Msg("save")
        yield Msg("close_run")

    RE = RunEngine(waiting_hook=None)
    RE.subscribe(check, "event")

    async def engine() -> None:
        await RE(step_scan())

    samples: dict[str, list[float]] = {"hand-written aioca": [], "acq RunEngine": []}
    try:
        await hand_written()
        await engine()  # warm up
        stale = 0
        for _ in range(runs):
            for name, fn in (("hand-written aioca", hand_written), ("acq RunEngine", engine)):
                start = time.perf_counter()
                await fn()
                samples[name].append((time.perf_counter() - start) / n)
    finally:
        aioca.purge_channel_caches()
    return {k: statistics.median(v) for k, v in samples.items()}, stale


def measure_bluesky(prefix: str, n: int, runs: int) -> tuple[float, int]:
    import bluesky.plan_stubs as bps
    from bluesky import RunEngine
    from bluesky.utils import Msg
    from ophyd_async.core import StandardReadable, init_devices
    from ophyd_async.core import StandardReadableFormat as Format
    from ophyd_async.epics.core import epics_signal_r, epics_signal_rw

    class Detector(StandardReadable):
        def __init__(self, name: str = "") -> None:
            with self.add_children_as_readables(Format.HINTED_SIGNAL):
                self.value = epics_signal_r(float, f"{prefix}det")
            with self.add_children_as_readables():
                self.i0 = epics_signal_r(float, f"{prefix}i0")
                self.n = epics_signal_r(int, f"{prefix}n")
            super().__init__(name=name)

    RE = RunEngine({}, call_returns_result=True)
    with init_devices():
        x = epics_signal_rw(float, f"{prefix}x")
        det = Detector()
    stale = 0
    expected = positions(n)

    def check(name: str, doc: dict) -> None:
        nonlocal stale
        if name == "event":
            stale += abs(doc["data"]["det-value"] - 2 * expected[doc["seq_num"] - 1]) > 1e-9

    def step_scan():
        yield Msg("open_run", plan_name="scan", num_points=n)
        for target in positions(n):
            yield Msg("checkpoint")
            yield from bps.abs_set(x, target, group="move")
            yield Msg("wait", None, group="move")
            yield Msg("create", None, name="primary")
            yield Msg("read", det)
            yield Msg("save")
        yield Msg("close_run")

    RE.subscribe(check)
    RE(step_scan())
    stale = 0
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        RE(step_scan())
        times.append((time.perf_counter() - start) / n)
    return statistics.median(times), stale


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="points per scan")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-bluesky", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("ACQ_STATE_DIR", tempfile.mkdtemp(prefix="acq-bench-"))
    prefix = "bes:"
    with ca_session(n_servers=1) as env, base_ioc(env, RECORDS, f"P={prefix}",
                                                    wait_for=[f"{prefix}det"]):
        medians, stale = asyncio.run(measure(prefix, args.n, args.runs))
        bluesky = None
        if not args.no_bluesky:
            try:
                bluesky = measure_bluesky(prefix, args.n, max(3, args.runs // 2))
            except ImportError as error:
                print(f"  (bluesky + ophyd-async not measured: {error})")
    raw = medians["hand-written aioca"]
    print("EPICS base ao + 3 PVs, per point (median of runs):")
    for name, seconds in medians.items():
        print(f"  {name:>24}: {seconds * 1e3:.3f} ms  ({seconds / raw:.2f}x)")
    versus = ""
    if bluesky is not None:
        bs, bs_stale = bluesky
        print(f"  {'bluesky + ophyd-async':>24}: {bs * 1e3:.3f} ms  ({bs / raw:.2f}x), "
              f"stale points {bs_stale}")
        versus = f"; bluesky + ophyd-async {bs / raw:.2f}x"
    ratio = medians["acq RunEngine"] / raw
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(f"SUMMARY engine_ca_scan: acq {medians['acq RunEngine'] * 1e3:.3f} ms vs hand-written "
          f"{raw * 1e3:.3f} ms per point = {ratio:.2f}x (target <= {TARGET}x: {verdict}); "
          f"stale points {stale}{versus}")


if __name__ == "__main__":
    main()
