"""Machine-readable results: one ``RESULT {json}`` line per figure of the bench table.

Each benchmark prints its own figures and a human ``SUMMARY`` line; the rows that belong
in the one table ``python -m bench`` prints (and writes to docs/benchmarks.md) are also
printed as ``RESULT`` lines, so the table is built from numbers, not by parsing prose.
A row compares acq with the floor (the hand-written or raw way of doing the same thing)
and, where measured, with bluesky + ophyd-async.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

PREFIX = "RESULT "


@dataclass(frozen=True)
class Result:
    """One row of the bench table.

    `unit` applies to `acq`, `floor` and `bluesky`. `higher_is_better` says how to read
    the ratio (documents/s: higher; ms per point: lower). `met` is whether acq meets
    `target`, None where there is no target.
    """

    bench: str
    measurement: str
    unit: str
    acq: float
    floor: float | None = None
    floor_name: str = ""
    bluesky: float | None = None
    target: str = ""
    met: bool | None = None
    higher_is_better: bool = False
    note: str = ""

    def line(self) -> str:
        return PREFIX + json.dumps(asdict(self), allow_nan=False)

    @classmethod
    def parse(cls, line: str) -> Result:
        """The Result a ``RESULT {json}`` line carries (ValueError if it is not one)."""
        if not line.startswith(PREFIX):
            raise ValueError(f"not a RESULT line: {line[:60]!r}")
        return cls(**json.loads(line[len(PREFIX) :]))


def emit(result: Result) -> None:
    """Print `result` as a RESULT line (after the benchmark's own figures)."""
    print(result.line(), flush=True)
