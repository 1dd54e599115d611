"""acq.service: the engine as a network service (``acq serve``, ``acq queue``).

One process owns a beamline's RunEngine, devices, catalog and live plots, keeps a plan
queue and its history (SQLite or Redis), and serves bluesky-httpserver's REST API so that
bluesky-queueserver-api's ``REManagerAPI`` drives it unchanged. The HTTP server (Starlette
under uvicorn), the queue worker and the engine share one asyncio loop.

This is the application's top floor: it imports the engine, devices, plans, storage and
viz; nothing below imports it. See docs/decisions/0010-queue-service.md and
docs/how-to/queue-service.md.
"""

from .errors import RequestRejected, ServiceError, StartupError
from .service import Service, ServiceConfig

__all__ = ["RequestRejected", "Service", "ServiceConfig", "ServiceError", "StartupError"]
