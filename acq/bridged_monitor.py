"""A monitor callback that works with every device library a plan may monitor.

acq's and ophyd-async's signals call ``callback(reading)`` in the loop. Classic ophyd's
call ``callback(value=..., timestamp=..., **more)`` -- once at once when subscribing, then
from its control layer's threads. Like bluesky's RunEngine, a call without a reading is
taken as "something changed": the device is read (ophyd's ``read()`` is synchronous and
serves cached values). Readings from another thread are handed to the loop with
``call_soon_threadsafe``, so documents are only ever emitted from the loop's thread.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from .describe import name_of

__all__ = ["monitor_callback", "running_loop"]

log = logging.getLogger("acq.engine")

OnReading = Callable[[dict[str, Any]], None]


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, or None (a device's own thread, a
    script's top level)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def monitor_callback(
    obj: Any, on_reading: OnReading, accept: Callable[[], bool] | None = None
) -> Callable[..., None]:
    """What to pass to ``obj.subscribe``: calls ``on_reading(reading)`` in the loop.

    `accept`, if given, is asked when the update arrives (in the device's thread): an
    update that arrived while it said yes is delivered even if the loop runs it later,
    after the monitor ended (bluesky keeps such an update too). Made outside a running
    loop (a suspender installed at a script's top level), it calls `on_reading` in
    whichever thread the update comes from.
    """
    loop = running_loop()
    loop_thread = threading.get_ident()

    def on_update(reading: Mapping[str, Any] | None = None, /, *args: Any, **kwargs: Any) -> None:
        if accept is not None and not accept():
            return  # the monitor has ended (or is muted by a pause)
        if reading is None or not isinstance(reading, Mapping):
            reading = obj.read()  # classic ophyd: the call only says that something changed
            if inspect.isawaitable(reading):
                close = getattr(reading, "close", None)
                if close is not None:
                    close()
                log.error(
                    "%s called its monitor without a reading and has an async read(); "
                    "update dropped",
                    name_of(obj),
                )
                return
        if loop is None or threading.get_ident() == loop_thread:
            on_reading(reading if type(reading) is dict else dict(reading))
            return
        try:
            loop.call_soon_threadsafe(on_reading, dict(reading))
        except RuntimeError:  # the loop has closed; the run is long over
            log.warning("%s: monitor update after the event loop closed", name_of(obj))

    return on_update
