"""bluesky's own plans on acq's engine: per point, against bluesky's engine and acq's plans.

    python -m bench.engine_bluesky_plans [--n 300] [--runs 5]

``bluesky.plans.scan`` of ``ophyd.sim``'s ``det`` and ``motor`` on acq's RunEngine and on
bluesky's (fresh devices each), then acq's ``plans.scan`` of acq's soft devices. No
subscriber. What it shows: bluesky 1.15 wraps every plan stub call in ``bluesky.utils.Plan``,
whose constructor formats the whole call stack (``traceback.format_stack()``, to warn about
stubs never iterated); that costs milliseconds per point on either engine, so bluesky's
plans are about as fast on acq's engine as on bluesky's, and acq's own plans are the fast
path. Target: bluesky's plans on acq's engine no slower than on bluesky's (ratio <= 1.1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.engine_common import median_ms, per_point_runs, per_point_runs_async

TARGET_RATIO = 1.1


async def measure_acq(n: int, runs: int) -> dict[str, float]:
    import bluesky.plans as bp
    import ophyd.sim

    import plans
    from acq import RunEngine
    from devices.sim import SimDetector, SimMotor

    RE = RunEngine(waiting_hook=None, handle_sigint=False)
    hw = ophyd.sim.hw()
    await RE(bp.scan([hw.det], hw.motor, 0, 9, 10))  # warm up
    results = {
        "bluesky.plans.scan on acq": median_ms(
            await per_point_runs_async(
                lambda: RE(bp.scan([hw.det], hw.motor, 0, n - 1, n)), n, runs
            )
        )
    }
    motor = SimMotor("motor")
    det = SimDetector("det", motor, width=n / 4)
    results["plans.scan on acq"] = median_ms(
        await per_point_runs_async(lambda: RE(plans.scan([det], motor, 0, n - 1, n)), n, runs)
    )
    return results


def measure_bluesky(n: int, runs: int) -> dict[str, float]:
    import bluesky.plans as bp
    import ophyd.sim
    from bluesky import RunEngine

    RE = RunEngine({}, context_managers=[])
    hw = ophyd.sim.hw()
    RE(bp.scan([hw.det], hw.motor, 0, 9, 10))
    return {
        "bluesky.plans.scan on bluesky": median_ms(
            per_point_runs(lambda: RE(bp.scan([hw.det], hw.motor, 0, n - 1, n)), n, runs)
        )
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="points per scan")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    os.environ.setdefault("ACQ_STATE_DIR", tempfile.mkdtemp(prefix="acq-bench-"))
    try:
        import bluesky
        import ophyd  # noqa: F401
    except ImportError as missing:
        print(f"SUMMARY engine_bluesky_plans: skipped ({missing.name} is not installed)")
        return
    rounds: list[dict[str, float]] = []
    for _ in range(2):  # alternate, so a change of load hits both engines
        rounds.append({**measure_bluesky(args.n, args.runs)})
        rounds[-1].update(asyncio.run(measure_acq(args.n, args.runs)))
    results = {label: min(r[label] for r in rounds) for label in rounds[0]}
    key = "bluesky.plans.scan on bluesky"
    for label, ms in results.items():
        print(f"  {label:<32} {ms:8.4f} ms/point (better of 2 medians)")
    ours, bluesky = results["bluesky.plans.scan on acq"], results[key]
    ratio = ours / bluesky
    met = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(
        f"SUMMARY engine_bluesky_plans: bluesky.plans.scan {ours:.3f} ms/point on acq, "
        f"{bluesky:.3f} on bluesky ({ratio:.2f}x, target <= {TARGET_RATIO}x: {met}); "
        f"acq's plans.scan {results['plans.scan on acq']:.4f} ms"
    )


if __name__ == "__main__":
    main()
