"""Ctrl-C while a plan runs: once pauses at the next checkpoint, twice pauses now.

A third press halts: it can only come when the second did not take effect yet, i.e. the
plan's own code is awaiting something between two steps (a pause waits for its next step).

Installed with ``loop.add_signal_handler`` for the duration of each engine call (so the
handler runs in the loop, between steps, never in the middle of one) and removed after,
restoring whatever handled SIGINT before. Presses closer than 0.1 s count once (key
bounce); the count resets after `window` seconds, as in bluesky.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["CtrlC"]


class CtrlC:
    def __init__(
        self,
        request_pause: Callable[[bool, str], None],
        halt: Callable[[], None],
        in_plan_code: Callable[[], bool],
        window: float = 10.0,
    ) -> None:
        self._request_pause = request_pause
        self._halt = halt
        self._in_plan_code = in_plan_code
        self.window = window
        self._count = 0
        self._last = 0.0

    @contextmanager
    def installed(self, enabled: bool = True) -> Iterator[None]:
        if not enabled or threading.current_thread() is not threading.main_thread():
            yield
            return
        loop = asyncio.get_running_loop()
        previous = signal.getsignal(signal.SIGINT)
        if previous is signal.SIG_IGN:  # started in the background (`&`, nohup): leave it so
            yield
            return
        try:
            loop.add_signal_handler(signal.SIGINT, self._on_sigint)
        except (NotImplementedError, RuntimeError, ValueError):  # no signals on this loop
            yield
            return
        self._count = 0
        try:
            yield
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def _on_sigint(self) -> None:
        now = time.monotonic()
        if now - self._last < 0.1:
            return
        if now - self._last > self.window:
            self._count = 0
        self._last = now
        self._count += 1
        if self._count == 1:
            print(
                "\nCtrl-C: pausing at the next checkpoint. "
                f"Press Ctrl-C again within {self.window:.0f} s to pause now.",
                file=sys.stderr,
                flush=True,
            )
            self._request_pause(True, "Ctrl-C")
        elif self._count == 2:
            waiting = (
                " The plan's own code is busy; it pauses at its next step. Press "
                "Ctrl-C again to halt it now (no cleanup by the plan)."
            )
            print(
                f"\nCtrl-C: pausing now.{waiting if self._in_plan_code() else ''}",
                file=sys.stderr,
                flush=True,
            )
            self._request_pause(False, "Ctrl-C twice")
        else:
            print("\nCtrl-C: halting.", file=sys.stderr, flush=True)
            self._halt()
