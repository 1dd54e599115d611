"""The bench table that `make bench` prints and writes to docs/benchmarks.md, built from
the benchmarks' RESULT lines (no benchmark is run here: they measure, tests do not)."""

from __future__ import annotations

from bench._result import Result
from bench._table import machine, page, table


def test_a_result_line_round_trips_and_becomes_a_row_with_ratios() -> None:
    scan = Result(
        "engine_ca_scan",
        "CA step scan, per point",
        "ms",
        0.9,
        floor=0.8,
        floor_name="hand-written aioca loop",
        bluesky=2.0,
        target="<= 1.15x",
        met=True,
    )
    write = Result(
        "storage_write",
        "documents/s into SQLite",
        "docs/s",
        90_000.0,
        floor=100_000.0,
        floor_name="raw executemany",
        target=">= 0.8x",
        met=True,
        higher_is_better=True,
    )
    assert Result.parse(scan.line()) == scan

    rows = table([scan, write]).splitlines()
    assert rows[0].startswith("| measurement | acq | floor | acq vs floor | bluesky")
    assert rows[2] == (
        "| CA step scan, per point | 0.9 ms | 0.8 ms (hand-written aioca loop) | 1.12x "
        "| 2.00 ms (acq 2.2x faster) | <= 1.15x met |"
    )
    assert "| 90,000 docs/s | 100,000 docs/s (raw executemany) | 0.90x |" in rows[3]


def test_a_missed_target_stands_out() -> None:
    row = table([Result("b", "soft scan, per point", "ms", 0.2, target="<= 0.15 ms", met=False)])
    assert row.splitlines()[-1].endswith("<= 0.15 ms **NOT met** |")


def test_the_page_says_when_and_on_what_machine() -> None:
    about = machine()
    text = page([Result("b", "soft count, per point", "ms", 0.03)], ["SUMMARY x: y"], [], about)
    assert text.startswith("# Benchmarks\n")
    assert f"cpus {about['cpus']}" in text and f"python {about['python']}" in text
    assert "| soft count, per point | 0.03 ms |" in text
    assert "SUMMARY x: y" in text
