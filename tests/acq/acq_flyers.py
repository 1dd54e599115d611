"""Test doubles for devices that write files or fly (they satisfy acq.protocols)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
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


class StepFileWriter:
    """An ophyd-style detector read in a step scan: each trigger writes one frame to a
    file; its reading is the Datum id, and `collect_asset_docs()` (a plain generator, as
    in ophyd) gives the Resource once and a Datum per frame since the last call."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.parent = None
        self.frames = 0
        self._reported = 0

    def trigger(self) -> Status:
        self.frames += 1
        return Status.finished()

    async def describe(self) -> dict[str, Any]:
        return {
            f"{self.name}_image": {
                "dtype": "array",
                "shape": [8, 8],
                "source": "sim",
                "external": "FILESTORE:",
            }
        }

    async def read(self) -> dict[str, Any]:
        datum_id = f"{self.name}-resource/{self.frames - 1}"
        return {f"{self.name}_image": {"value": datum_id, "timestamp": time.time()}}

    def collect_asset_docs(self) -> Iterator[tuple[str, dict[str, Any]]]:
        if self._reported == 0:
            yield (
                "resource",
                {
                    "uid": f"{self.name}-resource",
                    "spec": "AD_HDF5",
                    "root": "/tmp",
                    "resource_path": f"{self.name}.h5",
                    "resource_kwargs": {"frame_per_point": 1},
                    "path_semantics": "posix",
                },
            )
        for frame in range(self._reported, self.frames):
            yield (
                "datum",
                {
                    "datum_id": f"{self.name}-resource/{frame}",
                    "resource": f"{self.name}-resource",
                    "datum_kwargs": {"point_number": frame},
                },
            )
        self._reported = self.frames
