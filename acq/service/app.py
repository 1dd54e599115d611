"""The HTTP and WebSocket API: bluesky-httpserver's REST API over a `Service`.

Paths, methods, JSON bodies and replies are the ones ``bluesky_queueserver_api``'s HTTP
``REManagerAPI`` uses (``/api/status``, ``/api/queue/item/add``, ...), with
``Authorization: ApiKey <key>``. A successful reply is ``{"success": true, "msg": "",
...}``; a refused request gets a 4xx status and ``{"detail": "what was wrong"}`` (the
client raises ``HTTPClientError`` with that text) and changes nothing. GET requests may
carry a JSON body, as the client sends one.

One route table maps each path to its handler and the scope it needs; the handlers are
small functions of ``(service, user, body)`` in `acq.service.handlers`. Beyond
bluesky-httpserver: ``POST /api/queue/item/validate`` answers "would this item run?"
(validation and dry run, nothing queued), and ``/api/stream`` is a WebSocket of status
changes, console output and, with ``?documents=true``, the engine's documents.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from . import handlers as h
from .errors import RequestRejected
from .handlers import Body, Handler
from .queue import QueueError
from .service import Service

__all__ = ["ROUTES", "build_app"]

log = logging.getLogger("acq.service.app")

WS_SEND_TIMEOUT = 5.0  # s a WebSocket client may take to accept one message


_KEYS_FROM_FILE = "making or deleting API keys over HTTP (they are in the permissions file)"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    scope: str
    handler: Handler


ROUTES: list[Endpoint] = [
    Endpoint("GET", "/api", "read", h.status),
    Endpoint("GET", "/api/", "read", h.status),
    Endpoint("GET", "/api/ping", "read", h.status),
    Endpoint("GET", "/api/status", "read", h.status),
    Endpoint("GET", "/api/config/get", "read", h.config_get),
    Endpoint("GET", "/api/queue/get", "read", h.queue_get),
    Endpoint("POST", "/api/queue/item/validate", "read", h.item_validate),
    Endpoint("POST", "/api/queue/item/add", "queue", h.item_add),
    Endpoint("POST", "/api/queue/item/add/batch", "queue", h.item_add_batch),
    Endpoint("GET", "/api/queue/item/get", "read", h.item_get),
    Endpoint("POST", "/api/queue/item/update", "queue", h.item_update),
    Endpoint("POST", "/api/queue/item/remove", "queue", h.item_remove),
    Endpoint("POST", "/api/queue/item/remove/batch", "queue", h.item_remove_batch),
    Endpoint("POST", "/api/queue/item/move", "queue", h.item_move),
    Endpoint("POST", "/api/queue/item/move/batch", "queue", h.item_move_batch),
    Endpoint("POST", "/api/queue/item/execute", "control", h.item_execute),
    Endpoint("POST", "/api/queue/clear", "queue", h.queue_clear),
    Endpoint("POST", "/api/queue/start", "control", h.queue_start),
    Endpoint("POST", "/api/queue/stop", "control", h.queue_stop),
    Endpoint("POST", "/api/queue/stop/cancel", "control", h.queue_stop_cancel),
    Endpoint("POST", "/api/queue/mode/set", "control", h.queue_mode_set),
    Endpoint("POST", "/api/queue/autostart", "control", h.unsupported("queue autostart")),
    Endpoint("GET", "/api/history/get", "read", h.history_get),
    Endpoint("POST", "/api/history/clear", "admin", h.history_clear),
    Endpoint("POST", "/api/environment/open", "control", h.environment_noop),
    Endpoint("POST", "/api/environment/close", "control", h.environment_noop),
    Endpoint("POST", "/api/environment/destroy", "control", h.environment_noop),
    Endpoint("POST", "/api/environment/update", "control", h.environment_noop),
    Endpoint("POST", "/api/re/pause", "control", h.re_pause),
    Endpoint("POST", "/api/re/resume", "control", h.continue_plan("resume")),
    Endpoint("POST", "/api/re/stop", "control", h.continue_plan("stop")),
    Endpoint("POST", "/api/re/abort", "control", h.continue_plan("abort")),
    Endpoint("POST", "/api/re/halt", "control", h.continue_plan("halt")),
    Endpoint("GET", "/api/re/runs", "read", h.re_runs),
    Endpoint("POST", "/api/re/runs", "read", h.re_runs),
    Endpoint("GET", "/api/plans/allowed", "read", h.plans_allowed),
    Endpoint("GET", "/api/devices/allowed", "read", h.devices_allowed),
    Endpoint("GET", "/api/plans/existing", "read", h.plans_existing),
    Endpoint("GET", "/api/devices/existing", "read", h.devices_existing),
    Endpoint("GET", "/api/permissions/get", "read", h.permissions_get),
    Endpoint("POST", "/api/permissions/reload", "admin", h.unsupported("reloading permissions")),
    Endpoint("POST", "/api/permissions/set", "admin", h.unsupported("setting permissions")),
    Endpoint("POST", "/api/lock", "control", h.lock),
    Endpoint("POST", "/api/unlock", "control", h.unlock),
    Endpoint("GET", "/api/lock/info", "read", h.lock_info),
    Endpoint("GET", "/api/console_output", "read", h.console_output),
    Endpoint("GET", "/api/console_output/uid", "read", h.console_output_uid),
    Endpoint("GET", "/api/console_output_update", "read", h.console_output_update),
    Endpoint("GET", "/api/auth/whoami", "read", h.whoami),
    Endpoint("GET", "/api/auth/scopes", "read", h.api_scopes),
    Endpoint("POST", "/api/script/upload", "admin", h.unsupported("uploading scripts")),
    Endpoint("POST", "/api/function/execute", "control", h.unsupported("executing functions")),
    Endpoint("GET", "/api/task/status", "read", h.unsupported("background tasks")),
    Endpoint("GET", "/api/task/result", "read", h.unsupported("background tasks")),
    Endpoint("POST", "/api/kernel/interrupt", "control", h.unsupported("an IPython kernel")),
    Endpoint("POST", "/api/manager/stop", "admin", h.unsupported("stopping over HTTP")),
    Endpoint("POST", "/api/test/manager/kill", "admin", h.unsupported("killing over HTTP")),
    Endpoint("GET", "/api/auth/apikey", "read", h.apikey_info),
    Endpoint("POST", "/api/auth/apikey", "admin", h.unsupported(_KEYS_FROM_FILE)),
    Endpoint("DELETE", "/api/auth/apikey", "admin", h.unsupported(_KEYS_FROM_FILE)),
    Endpoint("POST", "/api/auth/session/refresh", "read", h.unsupported("token sessions")),
    Endpoint("POST", "/api/auth/logout", "read", h.logout),
]


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


async def read_body(request: Request, limit: int) -> Body:
    """The JSON object in the body ({} when empty); 413 beyond `limit` bytes, 400 if not JSON."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestRejected(
            413, f"request body of {declared} bytes exceeds the {limit}-byte limit"
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestRejected(413, f"request body exceeds the {limit}-byte limit")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestRejected(400, f"malformed JSON body: {exc}") from None
    if not isinstance(body, dict):
        raise RequestRejected(400, f"the JSON body must be an object, got {type(body).__name__}")
    return body


def _endpoint(svc: Service, ep: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            user = svc.permissions.authenticate(request.headers.get("authorization"))
            svc.permissions.require(user, ep.scope)
            body = await read_body(request, svc.config.max_body)
            reply = await ep.handler(svc, user, body)
        except RequestRejected as exc:
            if exc.status >= 400 and ep.path != "/api/status":
                log.info("%s %s refused (%d): %s", ep.method, ep.path, exc.status, exc.detail)
            return _error(exc.status, exc.detail)
        except QueueError as exc:
            return _error(400, str(exc))
        except Exception as exc:  # a bug or a database that failed: logged, and said so
            log.exception("%s %s failed", ep.method, ep.path)
            return _error(500, f"the service failed: {exc!r}; see its log")
        return reply if isinstance(reply, Response) else JSONResponse(reply)

    return endpoint


def _json(message: Any) -> str:
    return json.dumps(message, default=lambda o: o.tolist() if hasattr(o, "tolist") else repr(o))


def _socket(
    svc: Service, kinds: frozenset[str], wrap: bool
) -> Callable[[WebSocket], Awaitable[None]]:
    async def socket(ws: WebSocket) -> None:
        header = ws.headers.get("authorization")
        key = ws.query_params.get("api_key")
        try:
            user = svc.permissions.authenticate(header or (f"ApiKey {key}" if key else None))
            svc.permissions.require(user, "read")
        except RequestRejected as exc:
            await ws.close(code=4401 if exc.status == 401 else 4403, reason=exc.detail)
            return
        wanted = set(kinds)
        if ws.query_params.get("documents", "").lower() in ("1", "true", "yes"):
            wanted.add("document")
        await ws.accept()
        sub = svc.hub.subscribe(frozenset(wanted))
        try:
            if "status" in wanted:
                first = {"time": 0, "msg": {"status": svc.status()}}
                await ws.send_text(_json({"type": "status", **first} if wrap else first))
            async with anyio.create_task_group() as tg:

                async def watch_close() -> None:
                    try:
                        while True:
                            await ws.receive_text()
                    except (WebSocketDisconnect, RuntimeError):
                        tg.cancel_scope.cancel()

                tg.start_soon(watch_close)
                async for message in sub.receive:
                    kind = _kind(message)
                    with anyio.fail_after(WS_SEND_TIMEOUT):
                        await ws.send_text(_json({"type": kind, **message} if wrap else message))
                if sub.dropped:
                    await ws.close(code=4008, reason="too slow: fell behind the stream")
                tg.cancel_scope.cancel()
        except (WebSocketDisconnect, TimeoutError, anyio.ClosedResourceError):
            pass
        finally:
            svc.hub.unsubscribe(sub)

    return socket


def _kind(message: dict[str, Any]) -> str:
    if "doc" in message:
        return "document"
    if isinstance(message.get("msg"), dict):
        return "status"
    return "console"


class StatusFastPath:
    """``GET /api/status`` straight from the cached JSON, before any routing.

    Status is what every client polls, many times a second, in the loop the engine runs
    in; the full path (routing over ~60 routes, a Request, body parsing) cost ~0.35 ms,
    this ~0.1. Only a key already seen valid takes it; anything else goes the long way
    (which answers 401/403 with the reason).
    """

    def __init__(self, app: ASGIApp, svc: Service) -> None:
        self.app = app
        self.svc = svc

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/api/status" and scope["method"] == "GET":
            header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
            user = self.svc.permissions.known_header(header)
            if user is not None and user.has("read"):
                body = self.svc.status_json()
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def build_app(svc: Service) -> ASGIApp:
    routes: list[Any] = [
        Route(ep.path, _endpoint(svc, ep), methods=[ep.method], name=f"{ep.method} {ep.path}")
        for ep in ROUTES
    ]
    routes += [
        WebSocketRoute("/api/stream", _socket(svc, frozenset({"status", "console"}), wrap=True)),
        WebSocketRoute("/api/info/ws", _socket(svc, frozenset({"status"}), wrap=False)),
        WebSocketRoute("/api/console_output/ws", _socket(svc, frozenset({"console"}), wrap=False)),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(404, f"no such endpoint: {request.method} {request.url.path}")

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return _error(405, f"{request.method} is not allowed on {request.url.path}")

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
    return StatusFastPath(app, svc)
