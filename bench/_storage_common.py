"""Shared pieces of the storage benchmarks (no ``main``: ``python -m bench`` skips it):
synthetic runs made with event-model, a private nx-27017 server, timing helpers, and a
subscriber that does nothing."""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from event_model import compose_run

Docs = list[tuple[str, dict[str, Any]]]

#: the most documents the engine's dispatcher hands a ``handle_batch`` subscriber at once
#: (``acq.dispatch._BATCH``)
DISPATCH_BATCH = 512


class NullSubscriber:
    """Takes every document and does nothing with it: the floor of any subscriber."""

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        pass

    def handle_batch(self, batch: deque) -> None:
        batch.clear()


def synthetic_run(n_events: int, n_keys: int = 4) -> Docs:
    """A run of `n_events` events of `n_keys` float readings, as the engine emits it."""
    bundle = compose_run(metadata={"plan_name": "count", "scan_id": 1, "sample": "bench"})
    keys = {f"det{i}": {"source": "sim", "dtype": "number", "shape": []} for i in range(n_keys)}
    desc = bundle.compose_descriptor(data_keys=keys, name="primary")
    docs: Docs = [("start", dict(bundle.start_doc)), ("descriptor", dict(desc.descriptor_doc))]
    now = time.time()
    for i in range(n_events):
        data = {k: float(i) + j * 0.5 for j, k in enumerate(keys)}
        event = desc.compose_event(
            data=data, timestamps=dict.fromkeys(keys, now + i), seq_num=i + 1
        )
        docs.append(("event", dict(event)))
    docs.append(("stop", dict(bundle.compose_stop())))
    return docs


@contextmanager
def nx_server() -> Iterator[Any]:
    from storage.testing import MongoServer

    server = MongoServer(Path(tempfile.mkdtemp(prefix="acq-bench-nx-")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def fresh_db(server: Any) -> str:
    return f"{server.uri}/bench_{uuid.uuid4().hex[:8]}"


def state_dir() -> None:
    os.environ.setdefault("ACQ_STATE_DIR", tempfile.mkdtemp(prefix="acq-bench-"))


def median(values: list[float]) -> float:
    return statistics.median(values)


def events_and_runs(doc: str, argv: list[str] | None) -> argparse.Namespace:
    """``--events`` (20,000) and ``--runs`` (5), the options of the document benchmarks;
    prepares the state directory too."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    state_dir()
    return args
