"""The storage package's exceptions: one small hierarchy, each message naming the cause.

Everything raised on purpose by `storage` is a `StorageError`, so a beamline script can
catch one class. Messages say what failed (URI, journal path, run key) and what to do.
"""

from __future__ import annotations

__all__ = [
    "AmbiguousRunError",
    "CatalogAuthError",
    "CatalogReadOnlyError",
    "CatalogUnreachableError",
    "DocumentConflictError",
    "FlushTimeoutError",
    "JournalError",
    "RunNotFoundError",
    "StorageError",
]


class StorageError(Exception):
    """Base class of every error raised by `storage`."""


class CatalogUnreachableError(StorageError):
    """The database server did not answer within the timeout."""


class CatalogAuthError(StorageError):
    """The server refused the credentials in the URI."""


class CatalogReadOnlyError(StorageError):
    """The catalog can be read but not written (permissions or a read-only URI)."""


class JournalError(StorageError):
    """The local write-ahead journal cannot be created, locked or written (disk full...)."""


class DocumentConflictError(StorageError):
    """A document with the same uid is stored already with different contents, or the
    server refuses the document for good (the document is kept in ``<journal>.rejected``)."""


class FlushTimeoutError(StorageError, TimeoutError):
    """`writer.flush()` gave up: documents are safe in the journal but not in the database."""


class RunNotFoundError(StorageError, KeyError):
    """No run matches the key (uid, partial uid, scan_id or index)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class AmbiguousRunError(RunNotFoundError):
    """A partial uid matches more than one run; the message lists them."""
