"""``plans.scan`` on acq's engine with each device family: what bridging costs per point.

    python -m bench.compat_devices [--n 2000] [--runs 5]

The same scan (one motor, one detector, no subscriber) with acq's `devices.sim`
(native statuses: the engine awaits them as they are), ophyd-async's `SimMotor` and a soft
signal (AsyncStatus, bridged through add_callback so a pause cannot cancel the move), and
ophyd.sim's `motor` and `det` (threaded statuses, bridged to the loop; synchronous reads).
Then the bridge alone: ``await motor.set(x)`` of ophyd-async's SimMotor directly, and
through `BridgedStatus`. Target: the bridge adds <= 0.05 ms per status.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


async def per_point_ms(run: Callable[[], Any], n: int, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await run()
        samples.append((time.perf_counter() - start) / n)
    return statistics.median(samples) * 1e3


async def measure(n: int, runs: int) -> dict[str, float]:
    import ophyd.sim
    from ophyd_async.core import soft_signal_rw
    from ophyd_async.sim import SimMotor as AsyncSimMotor

    import plans
    from acq import RunEngine
    from acq.bridged_status import BridgedStatus
    from devices.sim import SimDetector, SimMotor

    RE = RunEngine(waiting_hook=None, handle_sigint=False)
    results: dict[str, float] = {}

    m1 = SimMotor("m1")
    det = SimDetector("det", m1, width=n / 4)
    results["acq devices.sim"] = await per_point_ms(
        lambda: RE(plans.scan([det], m1, 0.0, float(n - 1), n)), n, runs
    )

    motor = AsyncSimMotor(name="motor")
    signal = soft_signal_rw(float, 1.0, name="signal")
    await motor.connect()
    await signal.connect()
    results["ophyd-async SimMotor + soft signal"] = await per_point_ms(
        lambda: RE(plans.scan([signal], motor, 0.0, float(n - 1), n)), n, runs
    )

    async def direct() -> None:
        for i in range(n):
            await motor.set(float(i))

    async def bridged() -> None:
        for i in range(n):
            await BridgedStatus(motor.set(float(i)))

    # interleaved, so both see the same load of a shared machine
    pairs = [
        (await per_point_ms(direct, n, 1), await per_point_ms(bridged, n, 1))
        for _ in range(2 * runs)
    ]
    results["ophyd-async set, awaited directly"] = statistics.median(a for a, _ in pairs)
    results["ophyd-async set, through BridgedStatus"] = statistics.median(b for _, b in pairs)
    results["bridge cost (median of paired differences)"] = statistics.median(
        b - a for a, b in pairs
    )

    sim = ophyd.sim.hw()
    results["ophyd.sim motor + det"] = await per_point_ms(
        lambda: RE(plans.scan([sim.det], sim.motor, 0.0, float(n - 1), n)), n, runs
    )
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="points per scan")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    os.environ.setdefault("ACQ_STATE_DIR", tempfile.mkdtemp(prefix="acq-bench-"))
    results = asyncio.run(measure(args.n, args.runs))
    width = max(map(len, results))
    for name, ms in results.items():
        print(f"{name:<{width}}  {ms:7.3f} ms/point")
    bridge = results["bridge cost (median of paired differences)"]
    scans = {k: v for k, v in results.items() if "set," not in k and "bridge" not in k}
    print(
        "SUMMARY compat_devices: plans.scan per point "
        + ", ".join(f"{k} {v:.3f} ms" for k, v in scans.items())
        + f"; the status bridge adds {bridge:.3f} ms per status (target <= 0.05): "
        + ("met" if bridge <= 0.05 else "NOT met")
    )


if __name__ == "__main__":
    main()
