"""Acquire into a catalog until killed: ``python acquire.py URI [JOURNAL]`` (the SIGKILL
tests).

Prints ``ready`` once the catalog is open and waits for a line on standard input (the
test may now make the database hang), then acquires.

Prints ``start <uid>`` and then ``event <seq_num>`` for every event the engine emits.
The writer stores only full batches (``max_delay`` is huge), so at the kill most events
are in the journal only, and the next `open_catalog` must replay them.
"""

import asyncio
import sys

from acq import RunEngine
from devices.sim import SimDetector
from plans import count
from storage import open_catalog


def report(name: str, doc: dict) -> None:
    if name == "start":
        print("start", doc["uid"], flush=True)
    elif name == "event":
        print("event", doc["seq_num"], flush=True)


async def main(uri: str, journal: str | None) -> None:
    catalog = await open_catalog(
        uri, timeout=10, max_delay=3600.0, batch_size=100_000, journal=journal
    )
    print("ready", flush=True)
    sys.stdin.readline()
    RE = RunEngine(waiting_hook=None)
    RE.subscribe(catalog.writer)
    RE.subscribe(report)
    await RE(count([SimDetector("det")], num=None, delay=0.2))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
