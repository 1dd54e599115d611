"""Helpers for the engine tests (a module name no other test folder uses)."""

from __future__ import annotations

from typing import Any

import anyio


class Docs(list):
    """Documents as a subscriber received them: ``docs.of("event")``."""

    def __call__(self, name: str, doc: dict[str, Any]) -> None:
        self.append((name, doc))

    def of(self, name: str) -> list[dict[str, Any]]:
        return [d for n, d in self if n == name]

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self]

    def stream(self, stream: str) -> list[dict[str, Any]]:
        uids = {d["uid"] for d in self.of("descriptor") if d["name"] == stream}
        return [d for d in self.of("event") if d["descriptor"] in uids]


class Pausable:
    """A device the engine pauses and resumes (a detector acquiring, a flyer); `calls`
    is what it was told. Pausing takes `pause_takes` s, resuming `resume_takes` s;
    `reading` is read at resume."""

    name = "pausable"

    def __init__(
        self, pause_takes: float = 0.0, reading: Any = None, resume_takes: float = 0.0
    ) -> None:
        self.calls: list[Any] = []
        self.pause_takes = pause_takes
        self.resume_takes = resume_takes
        self.reading = reading
        self.pausing = anyio.Event()
        self.resuming = anyio.Event()

    def trigger(self) -> None:
        return None

    async def pause(self) -> None:
        self.calls.append("pause")
        self.pausing.set()
        await anyio.sleep(self.pause_takes)

    async def resume(self) -> None:
        self.calls.append("resume" if self.reading is None else ("resume", await self.reading()))
        self.resuming.set()
        await anyio.sleep(self.resume_takes)

    def stop(self, success: bool = True) -> None:
        self.calls.append("stop")
