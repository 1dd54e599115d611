"""Run one bluesky plan on bluesky's RunEngine and on acq's, and reduce each run's
documents to what must agree: streams, data keys, number of events, seq_nums, hints,
and the data themselves (uids, times and the reprs in ``plan_args`` aside).

Both engines get their own fresh set of ``ophyd.sim`` devices (``ophyd.sim.hw()``:
classic ophyd, threaded statuses), so the data keys are the same by construction and
any difference comes from the engines.

bluesky's RunEngine runs its own event loop in a thread of its own; `run_on_bluesky` is a
plain blocking function that the tests call from a worker thread
(``anyio.to_thread.run_sync``), so acq's loop (the test's) is never blocked and no task
of ours is left behind.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterable
from typing import Any

import ophyd.sim

Factory = Callable[[Any], Any]  # hw -> plan
Summary = list[dict[str, Any]]

_bluesky_engine: Any = None
_lock = threading.Lock()


def bluesky_engine() -> Any:
    """One bluesky RunEngine for the session (its loop thread is a daemon)."""
    global _bluesky_engine
    with _lock:
        if _bluesky_engine is None:
            from bluesky import RunEngine

            _bluesky_engine = RunEngine({}, context_managers=[])  # no SIGINT handler
        return _bluesky_engine


def run_on_bluesky(factory: Factory, answers: Iterable[str] = ()) -> list[tuple[str, dict]]:
    """Run ``factory(hw)`` on bluesky's RunEngine; its documents, in order. Blocking."""
    engine = bluesky_engine()
    docs: list[tuple[str, dict]] = []
    replies = list(answers)

    async def scripted_input(msg: Any) -> str:
        return replies.pop(0) if replies else "q"

    engine.register_command("input", scripted_input)
    token = engine.subscribe(lambda name, doc: docs.append((name, doc)))
    try:
        engine(factory(ophyd.sim.hw()))
    finally:
        engine.unsubscribe(token)
    return docs


async def run_on_acq(
    RE: Any, factory: Factory, answers: Iterable[str] = ()
) -> list[tuple[str, dict]]:
    """Run ``factory(hw)`` on acq's RunEngine `RE`; its documents, in order."""
    docs: list[tuple[str, dict]] = []
    replies = list(answers)

    async def scripted_input(prompt: str) -> str:
        return replies.pop(0) if replies else "q"

    RE.input_function = scripted_input
    token = RE.subscribe(lambda name, doc: docs.append((name, doc)))
    try:
        await RE(factory(ophyd.sim.hw()))
        await RE.flush(timeout=10)
    finally:
        RE.unsubscribe(token)
    return docs


_START_KEYS = (
    "plan_type",
    "plan_name",
    "detectors",
    "motors",
    "num_points",
    "num_intervals",
    "hints",
    "plan_pattern",
    "plan_pattern_module",
)


def summarize(docs: list[tuple[str, dict]], *, values: bool = True) -> Summary:
    """Per run: the start's plan metadata, and per stream its keys, hints and events."""
    runs: dict[str, dict[str, Any]] = {}
    descriptors: dict[str, dict[str, Any]] = {}
    for name, doc in docs:
        if name == "start":
            runs[doc["uid"]] = {
                "start": _start_summary(doc),
                "plan_args": sorted(doc.get("plan_args", {})),
                "streams": {},
                "exit_status": None,
            }
        elif name == "descriptor":
            stream = runs[doc["run_start"]]["streams"].setdefault(
                doc["name"],
                {
                    "data_keys": {
                        k: (v["dtype"], list(v.get("shape", [])))
                        for k, v in sorted(doc["data_keys"].items())
                    },
                    "external": sorted(k for k, v in doc["data_keys"].items() if v.get("external")),
                    "hints": _plain(doc.get("hints", {})),
                    "object_keys": {k: sorted(v) for k, v in doc["object_keys"].items()},
                    "descriptors": 0,
                    "seq_nums": [],
                    "data": [],
                },
            )
            stream["descriptors"] += 1
            descriptors[doc["uid"]] = stream
        elif name == "event":
            _add_event(descriptors[doc["descriptor"]], doc, values)
        elif name == "event_page":
            for event in _unpack(doc):
                _add_event(descriptors[doc["descriptor"]], event, values)
        elif name == "stop":
            run = runs[doc["run_start"]]
            run["exit_status"] = doc["exit_status"]
            run["num_events"] = dict(sorted(doc.get("num_events", {}).items()))
    return list(runs.values())


def _unpack(page: dict) -> list[dict]:
    n = len(page["seq_num"])
    return [
        {"seq_num": page["seq_num"][i], "data": {k: v[i] for k, v in page["data"].items()}}
        for i in range(n)
    ]


def _add_event(stream: dict[str, Any], event: dict, values: bool) -> None:
    stream["seq_nums"].append(event["seq_num"])
    if values:  # an external key's value is a Datum id (a uid): only its presence counts
        external = stream["external"]
        stream["data"].append(
            {
                k: "<datum>" if k in external else _rounded(v)
                for k, v in sorted(event["data"].items())
            }
        )


def _start_summary(start: dict) -> dict[str, Any]:
    summary = _plain({k: start[k] for k in _START_KEYS if k in start})
    # bluesky builds these from a set of motors (cycler keys) for some plans: their order
    # changes from one process (and one set of device objects) to the next
    if "motors" in summary:
        summary["motors"] = sorted(summary["motors"])
    if "dimensions" in summary.get("hints", {}):
        summary["hints"]["dimensions"] = sorted(summary["hints"]["dimensions"])
    return summary


def _plain(value: Any) -> Any:
    """As JSON would store it: bluesky's in-memory documents hold tuples, acq's lists."""
    return json.loads(json.dumps(value, default=str))


def _rounded(value: Any) -> Any:
    if isinstance(value, float):  # numpy floats too
        return float(value) if not math.isfinite(value) else round(float(value), 6)
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def without_values(summary: Summary, streams: Iterable[str]) -> Summary:
    """The summary with the events of `streams` (timing-dependent ones) left out: only
    their descriptors are compared."""
    names = set(streams)
    for run in summary:
        for name, stream in run["streams"].items():
            if name in names:
                stream["data"] = []
                stream["seq_nums"] = []
                run.get("num_events", {}).pop(name, None)
    return summary


def differences(got: Any, expected: Any, path: str = "") -> list[str]:
    """Where two summaries differ, as readable lines (for the assertion message)."""
    if isinstance(got, dict) and isinstance(expected, dict):
        lines = []
        for key in sorted({*got, *expected}, key=str):
            if key not in got:
                lines.append(f"{path}/{key}: missing on acq (bluesky: {expected[key]!r:.200})")
            elif key not in expected:
                lines.append(f"{path}/{key}: only on acq ({got[key]!r:.200})")
            else:
                lines.extend(differences(got[key], expected[key], f"{path}/{key}"))
        return lines
    if isinstance(got, list) and isinstance(expected, list) and len(got) == len(expected):
        pairs = enumerate(zip(got, expected, strict=True))
        return [d for i, (g, e) in pairs for d in differences(g, e, f"{path}[{i}]")]
    if got != expected:
        return [f"{path}: acq {got!r:.300} != bluesky {expected!r:.300}"]
    return []
