"""Shared pieces of the engine benchmarks (no ``main``: ``python -m bench`` skips it).

The acq plans here are written with `Msg` directly and yield the same messages as
bluesky's ``count``/``scan`` (checkpoint, [set, wait,] trigger, wait, create, read..., save),
so both engines are asked for the same work per point.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

from acq import Msg, plan_return
from bench._result import Result, emit


async def trigger_and_read(dets: list[Any]):
    for det in dets:
        if hasattr(det, "trigger"):
            yield Msg("trigger", det, group="trigger")
    yield Msg("wait", None, group="trigger")
    yield Msg("create", None, name="primary")
    readings = {}
    for det in dets:
        readings.update((yield Msg("read", det)))
    yield Msg("save")
    yield plan_return(readings)


async def msg_count(dets: list[Any], num: int):
    yield Msg("open_run", plan_name="count", detectors=[d.name for d in dets], num_points=num)
    for _ in range(num):
        yield Msg("checkpoint")
        yield trigger_and_read(dets)
    yield Msg("close_run")


async def msg_scan(dets: list[Any], motor: Any, positions: list[float]):
    yield Msg(
        "open_run",
        plan_name="scan",
        detectors=[d.name for d in dets],
        motors=[motor.name],
        num_points=len(positions),
    )
    for x in positions:
        yield Msg("checkpoint")
        yield Msg("set", motor, x, group="move")
        yield Msg("wait", None, group="move")
        yield trigger_and_read([motor, *dets])
    yield Msg("close_run")


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def per_point_runs(run: Callable[[], Any], n: int, runs: int) -> list[float]:
    """Seconds per point of `runs` sync calls of `run()` (each `n` points)."""
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        out.append((time.perf_counter() - start) / n)
    return out


async def per_point_runs_async(run: Callable[[], Any], n: int, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        await run()
        out.append((time.perf_counter() - start) / n)
    return out


def bluesky_available() -> bool:
    try:
        import bluesky  # noqa: F401
        import ophyd_async  # noqa: F401
    except ImportError:
        return False
    return True


def bluesky_soft_devices() -> tuple[Any, Any, Any]:
    """bluesky's RunEngine and two ophyd-async soft signals (detector, motor)."""
    from bluesky import RunEngine
    from ophyd_async.core import init_devices, soft_signal_rw

    RE = RunEngine({}, call_returns_result=True)
    with init_devices():
        det = soft_signal_rw(float, 1.0)
        motor = soft_signal_rw(float, 0.0)
    return RE, det, motor


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1e3


def report_per_point(
    bench: str, results: dict[str, float], target_ms: float, what: str = ""
) -> None:
    """Print each figure, then the SUMMARY line comparing acq with the target and bluesky.

    `results` maps labels to ms/point; acq's are "acq, no subscriber" and "acq, one
    subscriber", bluesky's (when measured) starts with "bluesky".
    """
    for label, ms in results.items():
        print(f"  {label:<24} {ms:8.4f} ms/point (median of runs)")
    acq_ms = results["acq, no subscriber"]
    met = "met" if acq_ms <= target_ms else "NOT met"
    versus = ""
    bluesky = [ms for label, ms in results.items() if label.startswith("bluesky")]
    if bluesky:
        versus = f"; bluesky {bluesky[0]:.3f} ms ({bluesky[0] / acq_ms:.0f}x slower)"
    print(
        f"SUMMARY {bench}: acq {acq_ms:.4f} ms/point, "
        f"{results['acq, one subscriber']:.4f} with a subscriber "
        f"(target <= {target_ms} ms: {met}){versus}"
    )
    emit(
        Result(
            bench,
            f"soft {what or bench}, per point",
            "ms",
            acq_ms,
            bluesky=bluesky[0] if bluesky else None,
            target=f"<= {target_ms} ms",
            met=acq_ms <= target_ms,
            note=f"{results['acq, one subscriber']:.3f} ms with a subscriber",
        )
    )


def per_point_main(
    bench: str,
    description: str,
    what: str,
    measure_acq: Callable[[int, int], Awaitable[dict[str, float]]],
    measure_bluesky: Callable[[int, int], dict[str, float]],
    target_ms: float,
    argv: list[str] | None,
    *,
    bluesky_n: int,
) -> None:
    """Command line of a per-point engine benchmark: acq, then bluesky when installed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--n", type=int, default=5000, help=f"points per {what}")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--bluesky-n", type=int, default=bluesky_n)
    args = parser.parse_args(argv)
    os.environ.setdefault("ACQ_STATE_DIR", tempfile.mkdtemp(prefix="acq-bench-"))
    results = asyncio.run(measure_acq(args.n, args.runs))
    if bluesky_available():
        results.update(measure_bluesky(args.bluesky_n, max(3, args.runs // 2)))
    report_per_point(bench, results, target_ms, what)
