"""Fan-out of live messages (status changes, console output, documents) to WebSockets.

Each connected client gets its own bounded buffer. Publishing never waits: a client too
slow to keep up with its buffer is disconnected (it is told why) rather than slowing the
engine or growing memory; it can reconnect and ask for the status again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

__all__ = ["Hub", "Subscription"]

log = logging.getLogger("acq.service.stream")

BUFFER = 1000  # messages a client may be behind before it is dropped


@dataclass(eq=False)
class Subscription:
    kinds: frozenset[str]
    send: MemoryObjectSendStream[dict[str, Any]]
    receive: MemoryObjectReceiveStream[dict[str, Any]]
    dropped: bool = field(default=False)


class Hub:
    """Who is listening, and for what kinds of message ("status", "console", "document")."""

    def __init__(self) -> None:
        self._subs: list[Subscription] = []

    def wants(self, kind: str) -> bool:
        return any(kind in s.kinds for s in self._subs)

    def subscribe(self, kinds: frozenset[str]) -> Subscription:
        send, receive = anyio.create_memory_object_stream[dict[str, Any]](BUFFER)
        sub = Subscription(kinds, send, receive)
        self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
        sub.send.close()
        sub.receive.close()

    def publish(self, kind: str, message: dict[str, Any]) -> None:
        for sub in list(self._subs):
            if kind not in sub.kinds or sub.dropped:
                continue
            try:
                sub.send.send_nowait(message)
            except anyio.WouldBlock:
                sub.dropped = True
                log.warning("a stream client fell %d messages behind; disconnecting it", BUFFER)
                sub.send.close()
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                self.unsubscribe(sub)
