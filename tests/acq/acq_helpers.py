"""Helpers for the engine tests (a module name no other test folder uses)."""

from __future__ import annotations

from typing import Any


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
