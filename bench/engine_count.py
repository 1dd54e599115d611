"""``count`` of a soft detector: engine time per point, acq vs bluesky.

    python -m bench.engine_count [--n 5000] [--runs 7]

acq: `RunEngine` with no subscriber, then with one (a no-op callback, to show the cost of
document delivery), a Msg-level count of `devices.sim.SimDetector`, and the standard
`plans.count`. bluesky 1.15 (when installed): its own ``count`` of an ophyd-async soft
signal. Target: acq <= 0.1 ms per point.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.engine_common import (
    bluesky_soft_devices,
    median_ms,
    msg_count,
    per_point_main,
    per_point_runs,
    per_point_runs_async,
)

TARGET_MS = 0.1


async def measure_acq(n: int, runs: int) -> dict[str, float]:
    from acq import RunEngine
    from devices.sim import SimDetector

    det = SimDetector("det")
    results = {}
    RE = RunEngine(waiting_hook=None)
    await RE(msg_count([det], 100))  # warm up
    results["acq, no subscriber"] = median_ms(
        await per_point_runs_async(lambda: RE(msg_count([det], n)), n, runs)
    )
    token = RE.subscribe(lambda name, doc: None)
    results["acq, one subscriber"] = median_ms(
        await per_point_runs_async(lambda: RE(msg_count([det], n)), n, runs)
    )
    RE.unsubscribe(token)
    try:
        import plans
    except ImportError:
        return results
    results["acq, plans.count"] = median_ms(
        await per_point_runs_async(lambda: RE(plans.count([det], n)), n, runs)
    )
    return results


def measure_bluesky(n: int, runs: int) -> dict[str, float]:
    from bluesky.plans import count

    RE, det, _ = bluesky_soft_devices()
    RE(count([det], 50))
    return {"bluesky, count": median_ms(per_point_runs(lambda: RE(count([det], n)), n, runs))}


def main(argv: list[str] | None = None) -> None:
    per_point_main(
        "engine_count",
        __doc__.splitlines()[0],
        "count",
        measure_acq,
        measure_bluesky,
        TARGET_MS,
        argv,
        bluesky_n=1000,
    )


if __name__ == "__main__":
    main()
