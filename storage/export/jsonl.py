"""JSON Lines: the document stream itself, one ``["name", {doc}]`` per line.

The layout of suitcase-jsonl, so either tool reads the other's files. Numpy values become
JSON numbers and lists (`storage.documents.sanitize`); NaN and infinities are written as
Python's ``json`` writes them (``NaN``, ``Infinity``) and read back as floats, so
``import_jsonl(export_jsonl(docs))`` gives back exactly the sanitised documents, in order.
Re-importing into a catalog: ``for name, doc in import_jsonl(path): catalog.writer(name, doc)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..documents import sanitize
from ..errors import StorageError

__all__ = ["export_jsonl", "import_jsonl"]


def export_jsonl(documents: Iterable[tuple[str, Mapping[str, Any]]], path: str | Path) -> Path:
    """Write every document to `path` (replaced if it exists); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as file:
        for name, doc in documents:
            file.write(json.dumps([name, sanitize(doc)], separators=(",", ":")))
            file.write("\n")
    return path


def import_jsonl(path: str | Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """The documents of a JSON Lines file, in order (read lazily, line by line)."""
    path = Path(path)
    with path.open(encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                name, doc = json.loads(line)
            except ValueError as error:
                raise StorageError(
                    f"{path}:{number} is not a [name, document] JSON line: {error}"
                ) from error
            if not isinstance(name, str) or not isinstance(doc, dict):
                raise StorageError(f"{path}:{number} is not a [name, document] JSON line")
            yield name, doc
