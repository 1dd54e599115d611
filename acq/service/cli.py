"""``acq serve`` (run the queue service) and ``acq queue`` (talk to one).

``acq queue`` is a thin client over the same REST API that bluesky-queueserver-api
speaks, with httpx; each failure is one line on stderr and a non-zero exit status::

    acq queue status
    acq queue add count '["det"]' num=5          # plan, JSON args, key=JSON kwargs
    acq queue list | start | stop | pause [--immediate] | resume | history

It reads the service's address from ``--url`` or ``ACQ_QUEUE_URL`` (default
http://127.0.0.1:60610) and the key from ``--api-key`` or ``ACQ_SERVE_API_KEY``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from .permissions import API_KEY_ENV

__all__ = ["queue_main", "serve_main"]

DEFAULT_URL = "http://127.0.0.1:60610"
URL_ENV = "ACQ_QUEUE_URL"
TIMEOUT = 10.0  # s per request


def _fail(message: str, code: int = 1) -> int:
    print(f"acq: {message}", file=sys.stderr)
    return code


# -- acq serve ---------------------------------------------------------------------------


def serve_main(argv: Sequence[str] | None = None) -> int:
    from .errors import ServiceError
    from .service import DEFAULT_PORT, Service, ServiceConfig, default_db

    parser = argparse.ArgumentParser(
        prog="acq serve",
        description="Serve a beamline's engine, devices and plan queue over HTTP "
        "(bluesky-httpserver's REST API).",
    )
    parser.add_argument("--config", required=True, help="the beamline's startup file (Python)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port (0: any free)")
    parser.add_argument(
        "--db",
        default=None,
        help=f"queue database: sqlite:///path or redis://host:port/db (default {default_db()})",
    )
    parser.add_argument("--permissions", help="YAML file: user groups, users, API keys")
    parser.add_argument(
        "--catalog", default=os.environ.get("ACQ_CATALOG"), help="store runs here (storage URI)"
    )
    parser.add_argument("--plots", type=int, metavar="PORT", help="serve live plots on PORT")
    parser.add_argument("--max-body", type=int, default=1_000_000, help="largest request (bytes)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = ServiceConfig(
        startup=args.config,
        host=args.host,
        port=args.port,
        db=args.db or default_db(),
        permissions=args.permissions,
        api_key=os.environ.get(API_KEY_ENV),
        catalog=args.catalog,
        plots_port=args.plots,
        max_body=args.max_body,
    )
    try:
        service = Service(config)
        asyncio.run(service.serve())
    except ServiceError as exc:
        return _fail(str(exc))  # a startup file's failure keeps its traceback
    except KeyboardInterrupt:
        return 130
    return 0


# -- acq queue ---------------------------------------------------------------------------


def _value(text: str) -> Any:
    """JSON if it parses, else the plain string (device and plan names)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _item(plan: str, params: Sequence[str]) -> dict[str, Any]:
    args, kwargs = [], {}
    for p in params:
        key, eq, val = p.partition("=")
        if eq and key.isidentifier():
            kwargs[key] = _value(val)
        else:
            args.append(_value(p))
    return {"item_type": "plan", "name": plan, "args": args, "kwargs": kwargs}


def _line(item: dict[str, Any]) -> str:
    args = ", ".join(
        [json.dumps(a) for a in item.get("args", [])]
        + [f"{k}={json.dumps(v)}" for k, v in item.get("kwargs", {}).items()]
    )
    text = f"{item.get('name')}({args})"
    result = item.get("result")
    if result:
        text += f"  -> {result.get('exit_status')}"
        if result.get("scan_ids"):
            text += f" scan_ids={result['scan_ids']}"
        if result.get("msg"):
            text += f" ({result['msg'].splitlines()[0]})"
    return f"{item.get('item_uid', '')[:8]}  {text}"


def _request(client: Any, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    response = client.request(method, path, json=body or {})
    try:
        reply = response.json()
    except ValueError:
        reply = {"detail": response.text.strip()[:200]}
    if response.status_code >= 400:
        detail = reply.get("detail", reply) if isinstance(reply, dict) else reply
        raise RuntimeError(f"{path} refused ({response.status_code}): {detail}")
    if isinstance(reply, dict) and reply.get("success") is False:
        raise RuntimeError(f"{path} failed: {reply.get('msg')}")
    return reply


def queue_main(argv: Sequence[str] | None = None) -> int:
    import httpx

    parser = argparse.ArgumentParser(prog="acq queue", description="Talk to an acq queue service.")
    parser.add_argument("--url", default=os.environ.get(URL_ENV, DEFAULT_URL))
    parser.add_argument("--api-key", default=os.environ.get(API_KEY_ENV))
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    sub.add_parser("status", help="the service's state and counts")
    add = sub.add_parser("add", help="queue a plan: NAME [ARG ...] [KEY=VALUE ...] (JSON values)")
    add.add_argument("plan")
    add.add_argument("params", nargs="*")
    sub.add_parser("list", help="the queue, running item first")
    sub.add_parser("start", help="start the queue")
    sub.add_parser("stop", help="stop the queue after the current item")
    pause = sub.add_parser("pause", help="pause the running plan (at its next checkpoint)")
    pause.add_argument("--immediate", action="store_true", help="pause now")
    sub.add_parser("resume", help="resume the paused plan")
    sub.add_parser("abort", help="abort the paused (or running) plan")
    history = sub.add_parser("history", help="finished items, newest last")
    history.add_argument("-n", type=int, default=20, help="how many (default 20)")
    args = parser.parse_args(argv)
    if not args.api_key:
        return _fail(f"no API key: pass --api-key or set {API_KEY_ENV}", 2)
    headers = {"Authorization": f"ApiKey {args.api_key}"}
    try:
        with httpx.Client(base_url=args.url, headers=headers, timeout=TIMEOUT) as client:
            return _run_verb(client, args)
    except httpx.HTTPError as exc:
        return _fail(f"cannot reach the queue service at {args.url}: {exc or type(exc).__name__}")
    except RuntimeError as exc:
        return _fail(str(exc))


def _run_verb(client: Any, args: argparse.Namespace) -> int:
    verb = args.verb
    if verb == "status":
        s = _request(client, "GET", "/api/status")
        print(
            f"{s['manager_state']} (engine {s['re_state']}): {s['items_in_queue']} queued, "
            f"{s['items_in_history']} in history"
            + (f", running {s['running_item_uid'][:8]}" if s.get("running_item_uid") else "")
        )
    elif verb == "add":
        reply = _request(
            client, "POST", "/api/queue/item/add", {"item": _item(args.plan, args.params)}
        )
        print(f"queued {_line(reply['item'])} ({reply['qsize']} in the queue)")
    elif verb == "list":
        reply = _request(client, "GET", "/api/queue/get")
        if reply.get("running_item"):
            print(f"running: {_line(reply['running_item'])}")
        for i, item in enumerate(reply["items"]):
            print(f"{i:3d}  {_line(item)}")
        if not reply["items"] and not reply.get("running_item"):
            print("the queue is empty")
    elif verb == "history":
        items = _request(client, "GET", "/api/history/get")["items"]
        for item in items[-args.n :] if args.n else items:
            print(_line(item))
    else:
        path = {
            "start": "/api/queue/start",
            "stop": "/api/queue/stop",
            "pause": "/api/re/pause",
            "resume": "/api/re/resume",
            "abort": "/api/re/abort",
        }[verb]
        body = {"option": "immediate" if args.immediate else "deferred"} if verb == "pause" else {}
        _request(client, "POST", path, body)
        print(f"{verb}: done")
    return 0
