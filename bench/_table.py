"""The one bench table: RESULT rows rendered as Markdown, with the date and the machine.

Pure functions (no benchmark runs here), so the layout is checked without running
anything. ``python -m bench`` prints the table and, after a full run, writes it to
docs/benchmarks.md.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from bench._result import Result

HEADER = (
    "| measurement | acq | floor | acq vs floor | bluesky + ophyd-async | target |\n"
    "| --- | --- | --- | --- | --- | --- |"
)


def machine() -> dict[str, str]:
    """Where the figures were taken: CPU count and model, Python, OS."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        load = "unknown"
    return {
        "cpus": str(os.cpu_count()),
        "cpu model": model,
        "python": sys.version.split()[0],
        "system": f"{platform.system()} {platform.release()}",
        "load average at the end": load,
    }


def number(value: float, unit: str) -> str:
    """`value` with the precision its size deserves, and its unit."""
    size = abs(value)
    if size >= 1000:
        text = f"{value:,.0f}"
    elif size >= 100:
        text = f"{value:.0f}"
    elif size >= 10:
        text = f"{value:.1f}"
    elif size >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def ratio(result: Result, other: float | None) -> str:
    """acq relative to `other`: "1.05x" (a time ratio) or "0.94x" (a rate ratio)."""
    if other is None or other == 0 or result.acq == 0:
        return "-"
    return f"{result.acq / other:.2f}x"


def row(result: Result) -> str:
    """One Markdown table row for `result`."""
    floor = "-"
    if result.floor is not None:
        floor = number(result.floor, result.unit)
        if result.floor_name:
            floor += f" ({result.floor_name})"
    bluesky = "-"
    if result.bluesky is not None:
        bluesky = number(result.bluesky, result.unit)
        if result.acq:
            times = (
                result.acq / result.bluesky
                if result.higher_is_better
                else result.bluesky / result.acq
            )
            bluesky += f" (acq {times:.1f}x {'faster' if times >= 1 else 'slower'})"
    target = result.target or "-"
    if result.met is not None:
        target += " met" if result.met else " **NOT met**"
    measurement = result.measurement + (f" ({result.note})" if result.note else "")
    cells = [
        measurement,
        number(result.acq, result.unit),
        floor,
        ratio(result, result.floor),
        bluesky,
        target,
    ]
    return "| " + " | ".join(cells) + " |"


#: the order of the issue's list; benchmarks not named here follow, in the order given
ORDER = ("engine_count", "engine_scan", "engine_ca_scan", "storage_write", "viz_liveplots")


def ordered(results: Iterable[Result]) -> list[Result]:
    """`results` with the headline benchmarks first (a stable sort)."""
    rank = {bench: i for i, bench in enumerate(ORDER)}
    return sorted(results, key=lambda r: rank.get(r.bench, len(ORDER)))


def table(results: Iterable[Result]) -> str:
    """The Markdown table of `results`, headline benchmarks first."""
    return "\n".join([HEADER, *(row(r) for r in ordered(results))])


def page(
    results: Sequence[Result],
    other_summaries: Sequence[str],
    failed: Sequence[str],
    about: dict[str, str],
    when: float | None = None,
) -> str:
    """docs/benchmarks.md: the table, the machine, the other benchmarks' summaries."""
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(when))
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`python -m bench`) on {stamp}.",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in about.items()) + ".",
        "",
        "Each figure is a median over repetitions inside its benchmark; ratios compare",
        "figures taken in one process, side by side. *acq vs floor* is acq divided by the",
        "floor: for times lower is better (1.05x = 5 % slower than the hand-written loop),",
        "for rates higher is better (0.94x = 94 % of raw `insert_many`). The floors: a",
        "hand-written aioca loop, raw `insert_many` into the Mongo-wire server (nx-27017),",
        "raw `executemany` into SQLite, the same count without plots.",
        "",
        table(results),
        "",
        "bluesky + ophyd-async run the same plans side by side where the same work exists",
        "(soft count and scan, the CA step scan); bluesky's Mongo writer is suitcase-mongo's",
        "mongo_normalized Serializer (a tenth of the run, a document per insert_one). The",
        "other rows have no bluesky figure: bluesky has no SQLite writer, bluesky's live plots",
        "(BestEffortCallback) need matplotlib, which is not installed, and a 1,000,000-event",
        "run at bluesky's ~3 ms per point would take about an hour.",
        "",
    ]
    if failed:
        lines += [f"Benchmarks that failed in this run: {', '.join(failed)}.", ""]
    if other_summaries:
        lines += ["## The other benchmarks", "", "```text", *other_summaries, "```", ""]
    lines += [
        "## Reproduce",
        "",
        "```bash",
        "make bench                            # every benchmark, then this page",
        ".venv/bin/python -m bench engine_scan # some of them: table printed, page kept",
        "```",
        "",
        "What each benchmark measures and how: `bench/README.md` in the repository. A",
        "machine shared with other work moves the absolute figures (bluesky's by up to",
        "2x); the ratios move much less.",
        "",
    ]
    return "\n".join(lines)
