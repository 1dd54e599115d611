"""Fly-scan test doubles that satisfy acq.protocols (devices.sim has no flyer yet)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from devices import Status


class PageFlyer:
    """Collects `n` points per kickoff/complete and hands them out as EventPages."""

    def __init__(self, name: str, n: int = 5) -> None:
        self.name = name
        self.parent = None
        self.n = n
        self._pending: list[tuple[float, float]] = []
        self.prepared: Any = None

    def prepare(self, value: Any) -> Status:
        self.prepared = value
        return Status.finished()

    def kickoff(self) -> Status:
        return Status.finished()

    def complete(self) -> Status:
        async def fly() -> None:
            now = time.time()
            self._pending = [(float(i), now + i * 1e-3) for i in range(self.n)]

        return Status(fly(), name=f"{self.name}.complete")

    async def describe_collect(self) -> dict[str, Any]:
        return {f"{self.name}_x": {"dtype": "number", "shape": [], "source": "sim"}}

    async def collect_pages(self) -> AsyncIterator[dict[str, Any]]:
        points, self._pending = self._pending, []
        if points:
            yield {
                "data": {f"{self.name}_x": [x for x, _ in points]},
                "timestamps": {f"{self.name}_x": [t for _, t in points]},
                "time": [t for _, t in points],
            }


class FileWriter:
    """A detector that writes frames to a file and reports StreamResource/StreamDatum."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.parent = None
        self.frames = 0
        self._reported = 0
        self._resource_sent = False

    def kickoff(self) -> Status:
        return Status.finished()

    def complete(self) -> Status:
        self.frames += 4
        return Status.finished()

    async def get_index(self) -> int:
        return self.frames

    async def describe_collect(self) -> dict[str, Any]:
        return {
            f"{self.name}_image": {
                "dtype": "array",
                "shape": [1, 8, 8],
                "source": "sim",
                "external": "STREAM:",
            }
        }

    async def collect_asset_docs(
        self, index: int | None = None
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        upto = self.frames if index is None else index
        if not self._resource_sent:
            self._resource_sent = True
            yield (
                "stream_resource",
                {
                    "uid": f"{self.name}-resource",
                    "data_key": f"{self.name}_image",
                    "mimetype": "application/x-hdf5",
                    "uri": f"file://localhost/tmp/{self.name}.h5",
                    "parameters": {"dataset": "/data"},
                },
            )
        if upto > self._reported:
            yield (
                "stream_datum",
                {
                    "uid": f"{self.name}-resource/{self._reported}",
                    "stream_resource": f"{self.name}-resource",
                    "descriptor": "",
                    "indices": {"start": self._reported, "stop": upto},
                    "seq_nums": {"start": 0, "stop": 0},
                },
            )
            self._reported = upto
