"""Console output of the service: what a user at the beamline's terminal would have seen.

Log records of the engine and the service, and whatever plans print, are kept in a
bounded buffer of messages ``{"time": t, "msg": text}``, each with a uid, so clients can
poll for what is new (bluesky-httpserver's ``/api/console_output_update`` with
``last_msg_uid``) or follow the WebSocket stream. The buffer never grows without bound:
the oldest messages fall off.
"""

from __future__ import annotations

import io
import logging
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["Console", "ConsoleHandler", "TeeStream"]

MAX_MESSAGES = 10_000


class Console:
    """A bounded buffer of console messages; listeners get each one as it arrives."""

    def __init__(self, max_messages: int = MAX_MESSAGES) -> None:
        self._msgs: deque[tuple[str, dict[str, Any]]] = deque(maxlen=max_messages)
        self.uid = str(uuid.uuid4())  # changes with every message
        self.listeners: list[Callable[[dict[str, Any]], None]] = []

    def write(self, text: str) -> None:
        if not text:
            return
        msg = {"time": time.time(), "msg": text}
        self.uid = str(uuid.uuid4())
        self._msgs.append((self.uid, msg))
        for listener in list(self.listeners):
            listener(msg)

    def text(self, nlines: int | None = None) -> str:
        text = "".join(m["msg"] for _, m in self._msgs)
        if nlines is not None and nlines >= 0:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[len(lines) - nlines :] if nlines else [])
        return text

    def since(self, last_msg_uid: str) -> dict[str, Any]:
        """Messages after `last_msg_uid` ("ALL": every kept one; unknown: none)."""
        msgs: list[dict[str, Any]] = []
        if last_msg_uid == "ALL":
            msgs = [m for _, m in self._msgs]
        else:
            uids = [u for u, _ in self._msgs]
            if last_msg_uid in uids:
                msgs = [m for _, m in list(self._msgs)[uids.index(last_msg_uid) + 1 :]]
        return {"last_msg_uid": self.uid, "console_output_msgs": msgs}


class ConsoleHandler(logging.Handler):
    """Log records into the console (formatted as one line each)."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.console.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


class TeeStream(io.TextIOBase):
    """A text stream that writes to `stream` and to the console (plans' print())."""

    def __init__(self, stream: TextIO, console: Console) -> None:
        self.stream = stream
        self.console = console

    def write(self, text: str) -> int:
        self.console.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", "utf-8")


def capture(console: Console) -> Callable[[], None]:
    """Send stdout and the ``acq`` loggers to `console`; returns the undo function."""
    handler = ConsoleHandler(console)
    logger = logging.getLogger("acq")
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
    original = sys.stdout
    sys.stdout = TeeStream(original, console)

    def undo() -> None:
        logger.removeHandler(handler)
        sys.stdout = original

    return undo
