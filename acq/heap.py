"""The session's heap is left out of garbage collection while the engine drives a plan.

Subscribers hold the documents of a fast scan for a few milliseconds (the dispatcher
hands them over in batches) and a catalog writer holds them until the database has
them. Objects that live that long are promoted to CPython's oldest generation, and each
time a quarter of that generation is new, the collector walks *all* of it: every object
of the session (modules, numpy, pandas, a notebook's history), ~20 ms for a bare
interpreter with acq imported and far more in a full notebook, charged to whichever
point of the scan is running (``python -m bench.engine_gc``: in a session of ~630,000
objects, pauses of ~100 ms during a scan with the catalog writer; ~1 ms with this).

So for the duration of each engine call (``RE(...)``, ``RE.resume()``, stop/abort/halt)
the objects that existed when it began are frozen (`gc.freeze`: moved to the permanent
generation, O(1)) and unfrozen when the call returns (`gc.unfreeze`, O(1)). Objects the
call creates are collected as usual, and a full collection during the call walks only
them. A pause ends the call, so a paused session is collected normally. The cost: a
reference cycle that became garbage before the call is freed after it instead.

Nothing is done when the collector is disabled, or when something else in the process
uses `gc.freeze` (its freeze count is not zero when the first engine call begins): that
code owns the permanent generation. Overlapping calls (two engines) share one freeze.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["heap_frozen"]

_holders = 0  # engine calls in progress that froze (or share the freeze)


@contextmanager
def heap_frozen() -> Iterator[None]:
    """Freeze the objects that exist now for the block (see the module docstring)."""
    global _holders
    if _holders == 0 and (not gc.isenabled() or gc.get_freeze_count()):
        yield  # the collector is off, or someone else manages the permanent generation
        return
    if _holders == 0:
        gc.freeze()
    _holders += 1
    try:
        yield
    finally:
        _holders -= 1
        if _holders == 0:
            gc.unfreeze()
