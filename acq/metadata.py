"""Run metadata: merging the layers, refusing what cannot be stored, and the scan_id file.

Pure functions except `ScanIdStore`, which reads and writes one small JSON file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from .errors import MetadataError

__all__ = [
    "STATE_DIR_ENV",
    "MetadataValidator",
    "ScanIdStore",
    "check_metadata",
    "default_state_dir",
    "merge_metadata",
    "versions",
]

STATE_DIR_ENV = "ACQ_STATE_DIR"

MetadataValidator = Callable[[Mapping[str, Any]], None]

# event-model's RunStart allows top-level keys without '.' or '/'.
_KEY = re.compile(r"^[^./]+$")
_SCALARS = (str, int, float, bool, type(None))


def merge_metadata(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Later layers win: ``merge_metadata(RE.md, plan_md, call_md)``."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    return merged


def check_metadata(md: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Return `md` as plain JSON types, or raise `MetadataError` naming the bad key.

    numpy scalars and arrays become Python numbers and lists; anything else that JSON
    cannot hold (a device, a function, a set) is refused so that no store ever chokes on
    a document after the run has started.
    """
    clean: dict[str, Any] = {}
    for key, value in md.items():
        if not isinstance(key, str) or not _KEY.match(key):
            raise MetadataError(
                f"{where}: metadata key {key!r} is not allowed; keys are strings without "
                f"'.' or '/' (event-model's rule)"
            )
        clean[key] = _plain(value, f"{where}: metadata {key!r}")
    return clean


def _plain(value: Any, path: str) -> Any:
    if isinstance(value, _SCALARS):  # subclasses too: str enums, numpy.float64
        return value
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise MetadataError(f"{path} has a non-string key {k!r}; JSON keys are strings")
            out[k] = _plain(v, f"{path}[{k!r}]")
        return out
    if isinstance(value, list | tuple):
        return [_plain(v, f"{path}[{i}]") for i, v in enumerate(value)]
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars
    if callable(tolist) and type(value).__module__ == "numpy":
        return _plain(tolist(), path)
    raise MetadataError(
        f"{path} = {value!r} ({type(value).__name__}) cannot be stored as JSON; "
        f"pass a string, number, list or dict instead (e.g. its name or repr)"
    )


def versions() -> dict[str, str]:
    found = {"python": sys.version.split()[0]}
    for dist in ("acq", "event-model", "numpy", "aioca", "ophyd-async"):
        with contextlib.suppress(importlib_metadata.PackageNotFoundError):
            found[dist.replace("-", "_")] = importlib_metadata.version(dist)
    return found


def default_state_dir() -> Path:
    """``$ACQ_STATE_DIR``, else ``$XDG_STATE_HOME/acq``, else ``~/.local/state/acq``."""
    if env := os.environ.get(STATE_DIR_ENV):
        return Path(env).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "acq"


class ScanIdStore:
    """The last scan_id handed out, shared by every process of the user via one file.

    The file holds ``{"scan_id": N}``; `next()` locks it, adds one and writes it back, so
    two sessions on one machine never hand out the same scan_id.
    """

    def __init__(self, state_dir: Path | str | None = None) -> None:
        self.path = Path(state_dir or default_state_dir()) / "scan_id.json"

    def next(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                f.seek(0)
                scan_id = self._parse(f.read()) + 1
                f.seek(0)
                f.truncate()
                json.dump({"scan_id": scan_id}, f)
                f.flush()
                os.fsync(f.fileno())
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
        return scan_id

    def last(self) -> int:
        try:
            return self._parse(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return 0

    def _parse(self, text: str) -> int:
        if not text.strip():
            return 0
        try:
            return int(json.loads(text)["scan_id"])
        except (ValueError, KeyError, TypeError) as error:
            raise MetadataError(
                f"cannot read the last scan_id from {self.path} ({error}); fix or delete the "
                f"file (the next scan_id then starts at 1)"
            ) from None
