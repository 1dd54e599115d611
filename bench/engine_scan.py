"""``scan`` of a soft motor and a soft detector: engine time per point, acq vs bluesky.

    python -m bench.engine_scan [--n 5000] [--runs 7]

acq: a Msg-level scan (checkpoint, set, wait, trigger, wait, create, read motor, read
detector, save) of `devices.sim.SimMotor` (no velocity: moves are instant) and
`SimDetector`, with no subscriber and with one; and the standard `plans.scan`.
bluesky 1.15 (when installed): its ``scan`` of two ophyd-async soft signals.
Target: acq <= 0.15 ms per point.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.engine_common import (
    bluesky_soft_devices,
    median_ms,
    msg_scan,
    per_point_main,
    per_point_runs,
    per_point_runs_async,
)

TARGET_MS = 0.15


async def measure_acq(n: int, runs: int) -> dict[str, float]:
    from acq import RunEngine
    from devices.sim import SimDetector, SimMotor

    m1 = SimMotor("m1")
    det = SimDetector("det", m1, width=n / 4)
    positions = [float(i) for i in range(n)]
    RE = RunEngine(waiting_hook=None)
    await RE(msg_scan([det], m1, positions[:100]))  # warm up
    results = {
        "acq, no subscriber": median_ms(
            await per_point_runs_async(lambda: RE(msg_scan([det], m1, positions)), n, runs)
        )
    }
    token = RE.subscribe(lambda name, doc: None)
    results["acq, one subscriber"] = median_ms(
        await per_point_runs_async(lambda: RE(msg_scan([det], m1, positions)), n, runs)
    )
    RE.unsubscribe(token)
    try:
        import plans
    except ImportError:
        return results
    results["acq, plans.scan"] = median_ms(
        await per_point_runs_async(
            lambda: RE(plans.scan([det], m1, 0.0, float(n - 1), num=n)), n, runs
        )
    )
    return results


def measure_bluesky(n: int, runs: int) -> dict[str, float]:
    from bluesky.plans import scan

    RE, det, motor = bluesky_soft_devices()
    RE(scan([det], motor, 0, 1, 20))
    return {
        "bluesky, scan": median_ms(per_point_runs(lambda: RE(scan([det], motor, 0, 1, n)), n, runs))
    }


def main(argv: list[str] | None = None) -> None:
    per_point_main(
        "engine_scan",
        __doc__.splitlines()[0],
        "scan",
        measure_acq,
        measure_bluesky,
        TARGET_MS,
        argv,
        bluesky_n=500,
    )


if __name__ == "__main__":
    main()
