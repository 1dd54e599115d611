"""Finding runs, the same on both backends (fixture `catalog`: SQLite and nx-27017):
newest first with ties broken by write order, metadata matches, full text, bad values.

Runs are written as documents (event-model's `compose_run`) so that start times, uids
and metadata can be chosen; they go in through `catalog.writer` like a RunEngine's.
"""

from __future__ import annotations

from typing import Any

import pytest
from event_model import compose_run

from storage import AmbiguousRunError, Catalog

T0 = 1_700_000_000.0


def run_docs(md: dict[str, Any], t: float, uid: str | None = None) -> list[tuple[str, dict]]:
    bundle = compose_run(metadata=md, time=t, uid=uid)
    return [("start", dict(bundle.start_doc)), ("stop", dict(bundle.compose_stop(time=t + 1)))]


async def store(catalog: Catalog, *runs: list[tuple[str, dict]]) -> list[str]:
    """Write the runs in order; their start uids."""
    for docs in runs:
        for name, doc in docs:
            await catalog.writer(name, doc)
    await catalog.writer.flush(timeout=30)
    return [docs[0][1]["uid"] for docs in runs]


def uids(runs: list[Any]) -> list[str]:
    return [r.uid for r in runs]


async def test_runs_started_at_the_same_time_come_newest_written_first(catalog: Catalog) -> None:
    runs = [
        run_docs({"scan_id": 7 if i > 3 else i, "plan_name": "count"}, T0, uid=f"tied-{i}-run")
        for i in range(1, 6)
    ]
    written = await store(catalog, *runs)
    newest_first = written[::-1]

    assert uids(await catalog.search()) == newest_first
    pages = [(await catalog.search(limit=1, offset=k))[0].uid for k in range(5)]
    assert pages == newest_first
    assert [(await catalog.run(-n)).uid for n in range(1, 6)] == newest_first
    assert (await catalog.run(7)).uid == written[-1]  # scan_id 7: runs 4 and 5
    with pytest.raises(AmbiguousRunError) as info:
        await catalog.run("tied-")
    listed = [str(info.value).index(uid) for uid in newest_first]
    assert listed == sorted(listed)
