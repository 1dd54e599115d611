"""Exporters: pure functions from a document stream to files (CSV, JSON Lines, SPEC,
NeXus/HDF5). `documents` is any iterable of ``(name, doc)`` in emission order: a list
collected by a subscriber, ``await run.documents()`` from the catalog, or
``import_jsonl(path)``. docs/reference/export.md describes each format.
"""

from .csv import export_csv
from .jsonl import export_jsonl, import_jsonl
from .nexus import export_nexus
from .spec import export_spec

__all__ = ["export_csv", "export_jsonl", "export_nexus", "export_spec", "import_jsonl"]
