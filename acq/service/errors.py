"""The queue service's exceptions: one small hierarchy.

`RequestRejected` carries the HTTP status a client gets (400 bad request, 401 no or wrong
key, 403 not allowed, 404 unknown path, 409 wrong state, 413 body too large). Its message
is the reply's ``detail``, the text bluesky-queueserver-api shows in its exception, so it
names what was wrong and what to do.
"""

from __future__ import annotations

__all__ = ["RequestRejected", "ServiceError", "StartupError"]


class ServiceError(Exception):
    """Base class of every error raised by `acq.service`."""


class StartupError(ServiceError):
    """The service cannot start: a bad startup file, permissions file or database."""


class RequestRejected(ServiceError):
    """A request refused before anything changed."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
