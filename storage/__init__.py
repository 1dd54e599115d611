"""storage: where documents are kept, and how runs are found and read back.

``catalog = await open_catalog("sqlite:///~/acq-data/catalog.db")`` (the embedded
default) or ``open_catalog("mongodb://host/acq")`` (databroker's mongo_normalized
layout); ``RE.subscribe(catalog.writer, critical=True)`` stores every document through a
local write-ahead journal; ``await catalog.run(-1)`` reads the latest run back.
See docs/reference/storage.md and docs/decisions/0006-storage.md.
"""

from .catalog import Catalog, open_catalog
from .errors import (
    AmbiguousRunError,
    CatalogAuthError,
    CatalogReadOnlyError,
    CatalogUnreachableError,
    DocumentConflictError,
    FlushTimeoutError,
    JournalError,
    RunNotFoundError,
    StorageError,
)
from .run import Run
from .writer import CatalogWriter

__all__ = [
    "AmbiguousRunError",
    "Catalog",
    "CatalogAuthError",
    "CatalogReadOnlyError",
    "CatalogUnreachableError",
    "CatalogWriter",
    "DocumentConflictError",
    "FlushTimeoutError",
    "JournalError",
    "Run",
    "RunNotFoundError",
    "StorageError",
    "open_catalog",
]
