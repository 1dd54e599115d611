"""The request handlers: one small function of ``(service, user, body)`` per API call.

Each returns the reply bluesky-queueserver's RE Manager gives for that call (``{"success":
true, "msg": "", ...}``) or raises `RequestRejected` (or `QueueError`) before changing
anything. Which path and scope reaches which handler is `acq.service.app`'s route table.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.responses import Response

from .errors import RequestRejected
from .permissions import User
from .queue import new_uid
from .service import Lock, Service
from .validation import check_item, describe_annotation, resolved_hints

log = logging.getLogger("acq.service")

Body = dict[str, Any]
Handler = Callable[[Service, User, Body], Awaitable[dict[str, Any] | Response]]


def ok(**fields: Any) -> dict[str, Any]:
    return {"success": True, "msg": "", **fields}


def _known(body: Body, *names: str) -> None:
    extra = set(body) - set(names) - {"user", "user_group"}
    if extra:
        raise RequestRejected(
            400, f"unsupported parameter(s) {sorted(extra)}; supported: {sorted(names)}"
        )


def _item_param(body: Body) -> Any:
    if "item" not in body:
        raise RequestRejected(400, "the request has no 'item'")
    return body["item"]


def _own(item: dict[str, Any], user: User) -> dict[str, Any]:
    return {**item, "user": user.name, "user_group": user.group}


# -- status and lists ------------------------------------------------------------------------


async def status(svc: Service, user: User, body: Body) -> Response:
    # the one request clients make many times a second: its JSON is cached until a change
    return Response(svc.status_json(), media_type="application/json")


async def config_get(svc: Service, user: User, body: Body) -> dict[str, Any]:
    return ok(config={"ip_connect_info": {}})


def describe_plan(name: str, func: Callable[..., Any]) -> dict[str, Any]:
    """bluesky-queueserver's plan description: parameters with kinds, defaults, types."""
    hints = resolved_hints(func)
    params = []
    for p in inspect.signature(func).parameters.values():
        entry: dict[str, Any] = {
            "name": p.name,
            "kind": {"name": p.kind.name, "value": int(p.kind)},
        }
        if p.default is not p.empty:
            entry["default"] = repr(p.default)
        if p.annotation is not p.empty:
            entry["annotation"] = {"type": describe_annotation(hints.get(p.name, p.annotation))}
        params.append(entry)
    return {
        "name": name,
        "description": inspect.getdoc(func) or "",
        "module": getattr(func, "__module__", ""),
        "parameters": params,
        "properties": {"is_generator": True},
    }


def describe_device(obj: Any) -> dict[str, Any]:
    return {
        "classname": type(obj).__name__,
        "module": type(obj).__module__,
        "is_readable": callable(getattr(obj, "read", None)),
        "is_movable": callable(getattr(obj, "set", None)),
        "is_flyable": callable(getattr(obj, "kickoff", None)),
    }


async def plans_allowed(svc: Service, user: User, body: Body) -> dict[str, Any]:
    group = svc.permissions.group_of(user)
    plans = {n: describe_plan(n, f) for n, f in svc.catalogue.plans.items() if group.allows_plan(n)}
    return ok(plans_allowed=plans, plans_allowed_uid=svc.lists_uid)


async def devices_allowed(svc: Service, user: User, body: Body) -> dict[str, Any]:
    group = svc.permissions.group_of(user)
    devices = {
        n: describe_device(d) for n, d in svc.catalogue.devices.items() if group.allows_device(n)
    }
    return ok(devices_allowed=devices, devices_allowed_uid=svc.lists_uid)


async def plans_existing(svc: Service, user: User, body: Body) -> dict[str, Any]:
    plans = {n: describe_plan(n, f) for n, f in svc.catalogue.plans.items()}
    return ok(plans_existing=plans, plans_existing_uid=svc.lists_uid)


async def devices_existing(svc: Service, user: User, body: Body) -> dict[str, Any]:
    devices = {n: describe_device(d) for n, d in svc.catalogue.devices.items()}
    return ok(devices_existing=devices, devices_existing_uid=svc.lists_uid)


async def permissions_get(svc: Service, user: User, body: Body) -> dict[str, Any]:
    groups = {
        g.name: {
            "allowed_plans": list(g.allowed_plans),
            "forbidden_plans": list(g.forbidden_plans),
            "allowed_devices": list(g.allowed_devices),
            "forbidden_devices": list(g.forbidden_devices),
        }
        for g in svc.permissions.groups.values()
    }
    return ok(user_group_permissions={"user_groups": groups})


async def whoami(svc: Service, user: User, body: Body) -> dict[str, Any]:
    return {
        "type": "user",
        "uuid": user.name,
        "identities": [{"id": user.name, "provider": "apikey"}],
        "roles": [user.group],
        "scopes": sorted(user.scopes),
        "api_keys": [],
        "sessions": [],
    }


async def apikey_info(svc: Service, user: User, body: Body) -> dict[str, Any]:
    """The key this request came with (keys themselves live in the permissions file)."""
    return {
        "first_eight": user.api_key[:8],
        "expiration_time": None,
        "note": f"{user.name} ({user.group})",
        "scopes": sorted(user.scopes),
        "latest_activity": None,
    }


async def logout(svc: Service, user: User, body: Body) -> dict[str, Any]:
    return {}  # API keys have no session to end


async def api_scopes(svc: Service, user: User, body: Body) -> dict[str, Any]:
    return {"roles": [user.group], "scopes": sorted(user.scopes)}


# -- the queue ---------------------------------------------------------------------------------


async def queue_get(svc: Service, user: User, body: Body) -> dict[str, Any]:
    return ok(
        items=svc.queue.items, running_item=svc.queue.running or {}, plan_queue_uid=svc.queue.uid
    )


async def _commit(
    svc: Service, undo: Callable[[], None], save: Callable[[], Awaitable[None]]
) -> None:
    """Save a change made in memory, then tell the clients; if the store fails, undo the
    change and refuse the request: a client must not see a change that a restart of the
    service would forget (nor be told it failed while it stands)."""
    try:
        await save()
    except Exception as exc:
        undo()
        log.exception("could not save a change to the queue database; the change is undone")
        raise RequestRejected(
            500, f"the change could not be saved ({exc}); nothing changed, try again"
        ) from exc
    svc.changed()


async def _queue_changed(svc: Service, undo: Callable[[], None]) -> None:
    await _commit(svc, undo, svc.persist)


async def item_validate(svc: Service, user: User, body: Body) -> dict[str, Any]:
    _known(body, "item")
    group = svc.permissions.group_of(user)
    item, summary = await check_item(_item_param(body), group, svc.catalogue)
    return ok(item=item, dry_run=summary)


async def item_add(svc: Service, user: User, body: Body) -> dict[str, Any]:
    _known(body, "item", "pos", "before_uid", "after_uid", "lock_key")
    svc.check_lock(body.get("lock_key"), queue=True)
    item, _ = await check_item(_item_param(body), svc.permissions.group_of(user), svc.catalogue)
    undo = svc.queue.restorer()
    added = svc.queue.add(
        _own(item, user),
        pos=body.get("pos"),
        before_uid=body.get("before_uid"),
        after_uid=body.get("after_uid"),
    )
    await _queue_changed(svc, undo)
    return ok(qsize=len(svc.queue), item=added)


async def item_add_batch(svc: Service, user: User, body: Body) -> dict[str, Any]:
    _known(body, "items", "pos", "before_uid", "after_uid", "lock_key")
    svc.check_lock(body.get("lock_key"), queue=True)
    items = body.get("items")
    if not isinstance(items, list):
        raise RequestRejected(400, "'items' must be a list of items")
    group = svc.permissions.group_of(user)
    checked, failures = [], []
    for i, raw in enumerate(items):
        try:
            checked.append(_own((await check_item(raw, group, svc.catalogue))[0], user))
        except RequestRejected as exc:
            failures.append(f"item {i}: {exc.detail}")
    if failures:
        raise RequestRejected(
            400,
            f"no items added: {len(failures)} of {len(items)} failed validation: "
            + "; ".join(failures),
        )
    undo = svc.queue.restorer()
    added = svc.queue.add_batch(
        checked,
        pos=body.get("pos"),
        before_uid=body.get("before_uid"),
        after_uid=body.get("after_uid"),
    )
    await _queue_changed(svc, undo)
    return ok(
        qsize=len(svc.queue), items=added, results=[{"success": True, "msg": ""} for _ in added]
    )


async def item_get(svc: Service, user: User, body: Body) -> dict[str, Any]:
    _known(body, "pos", "uid")
    return ok(item=svc.queue.get(pos=body.get("pos"), uid=body.get("uid")))


async def item_update(svc: Service, user: User, body: Body) -> dict[str, Any]:
    _known(body, "item", "replace", "lock_key")
    svc.check_lock(body.get("lock_key"), queue=True)
    raw = _item_param(body)
    uid = raw.get("item_uid") if isinstance(raw, Mapping) else None
    svc.queue.index_of(str(uid))  # an unknown uid fails before the dry run
    item, _ = await check_item(raw, svc.permissions.group_of(user), svc.catalogue)
    undo = svc.queue.restorer()
    updated = svc.queue.update(_own(item, user), replace=bool(body.get("replace")))
    await _queue_changed(svc, undo)
    return ok(qsize=len(svc.queue), item=updated)


async def item_remove(svc: Service, user: User, body: Body) -> dict[str, Any]:
    _known(body, "pos", "uid", "lock_key")
    svc.check_lock(body.get("lock_key"), queue=True)
    undo = svc.queue.restorer()
    item = svc.queue.remove(pos=body.get("pos"), uid=body.get("uid"))
    await _queue_changed(svc, undo)
    return ok(item=item, qsize=len(svc.queue))


async def item_remove_batch(svc: Service, user: User, body: Body) -> dict[str, Any]:
    _known(body, "uids", "ignore_missing", "lock_key")
    svc.check_lock(body.get("lock_key"), queue=True)
    uids = body.get("uids")
    if not isinstance(uids, list):
        raise RequestRejected(400, "'uids' must be a list of item uids")
    undo = svc.queue.restorer()
    items = svc.queue.remove_batch(uids, ignore_missing=body.get("ignore_missing", True))
    await _queue_changed(svc, undo)
    return ok(items=items, qsize=len(svc.queue))


async def item_move(svc: Service, user: User, body: Body) -> dict[str, Any]:
    _known(body, "pos", "uid", "pos_dest", "before_uid", "after_uid", "lock_key")
    svc.check_lock(body.get("lock_key"), queue=True)
    undo = svc.queue.restorer()
    item = svc.queue.move(
        pos=body.get("pos"),
        uid=body.get("uid"),
        pos_dest=body.get("pos_dest"),
        before_uid=body.get("before_uid"),
        after_uid=body.get("after_uid"),
    )
    await _queue_changed(svc, undo)
    return ok(item=item, qsize=len(svc.queue))


async def item_move_batch(svc: Service, user: User, body: Body) -> dict[str, Any]:
    _known(body, "uids", "pos_dest", "before_uid", "after_uid", "reorder", "lock_key")
    svc.check_lock(body.get("lock_key"), queue=True)
    uids = body.get("uids")
    if not isinstance(uids, list):
        raise RequestRejected(400, "'uids' must be a list of item uids")
    undo = svc.queue.restorer()
    items = svc.queue.move_batch(
        uids,
        pos_dest=body.get("pos_dest"),
        before_uid=body.get("before_uid"),
        after_uid=body.get("after_uid"),
        reorder=bool(body.get("reorder", False)),
    )
    await _queue_changed(svc, undo)
    return ok(items=items, qsize=len(svc.queue))


async def item_execute(svc: Service, user: User, body: Body) -> dict[str, Any]:
    _known(body, "item", "lock_key")
    svc.check_lock(body.get("lock_key"), environment=True)
    item, _ = await check_item(_item_param(body), svc.permissions.group_of(user), svc.catalogue)
    if item["item_type"] != "plan":
        raise RequestRejected(400, "only plans can be executed immediately")
    item = {**_own(item, user), "item_uid": new_uid()}
    svc.worker.start(immediate=item)
    return ok(qsize=len(svc.queue), item=item)


async def queue_clear(svc: Service, user: User, body: Body) -> dict[str, Any]:
    _known(body, "lock_key")
    svc.check_lock(body.get("lock_key"), queue=True)
    undo = svc.queue.restorer()
    svc.queue.clear()
    await _queue_changed(svc, undo)
    return ok()


async def queue_start(svc: Service, user: User, body: Body) -> dict[str, Any]:
    _known(body, "lock_key")
    svc.check_lock(body.get("lock_key"), environment=True)
    svc.worker.start()
    return ok()


async def queue_stop(svc: Service, user: User, body: Body) -> dict[str, Any]:
    _known(body, "lock_key")
    svc.check_lock(body.get("lock_key"), environment=True)
    svc.worker.stop_queue(True)
    return ok()


async def queue_stop_cancel(svc: Service, user: User, body: Body) -> dict[str, Any]:
    _known(body, "lock_key")
    svc.check_lock(body.get("lock_key"), environment=True)
    svc.worker.stop_queue(False)
    return ok()


async def queue_mode_set(svc: Service, user: User, body: Body) -> dict[str, Any]:
    _known(body, "mode", "lock_key")
    svc.check_lock(body.get("lock_key"), queue=True)
    if "mode" not in body:
        raise RequestRejected(400, "the request has no 'mode'")
    undo = svc.queue.restorer()
    svc.queue.set_mode(body["mode"])
    await _commit(svc, undo, lambda: svc.store.save_mode(svc.queue.mode))
    return ok()


async def history_get(svc: Service, user: User, body: Body) -> dict[str, Any]:
    return ok(items=svc.history.items, plan_history_uid=svc.history.uid)


async def history_clear(svc: Service, user: User, body: Body) -> dict[str, Any]:
    _known(body, "size", "item_uid", "lock_key")
    svc.check_lock(body.get("lock_key"), queue=True)
    undo = svc.history.restorer()
    svc.history.clear(size=body.get("size"), item_uid=body.get("item_uid"))
    await _commit(svc, undo, lambda: svc.store.replace_history(svc.history.items))
    return ok()


# -- the engine -----------------------------------------------------------------------------


async def environment_noop(svc: Service, user: User, body: Body) -> dict[str, Any]:
    _known(body, "lock_key", "run_in_background")
    svc.check_lock(body.get("lock_key"), environment=True)
    return ok(msg="acq runs plans in the service process itself: the environment is always open")


async def re_pause(svc: Service, user: User, body: Body) -> dict[str, Any]:
    _known(body, "option", "lock_key")
    svc.check_lock(body.get("lock_key"), environment=True)
    await svc.worker.pause(body.get("option") or "deferred")
    return ok()


def continue_plan(how: str) -> Handler:
    async def handler(svc: Service, user: User, body: Body) -> dict[str, Any]:
        _known(body, "lock_key")
        svc.check_lock(body.get("lock_key"), environment=True)
        await svc.worker.end_plan(how)  # type: ignore[arg-type]
        return ok()

    handler.__name__ = f"re_{how}"
    return handler


async def re_runs(svc: Service, user: User, body: Body) -> dict[str, Any]:
    return ok(run_list=svc.worker.runs, run_list_uid=svc.status()["run_list_uid"])


def _lock_restorer(svc: Service) -> Callable[[], None]:
    before = svc.lock

    def restore() -> None:
        svc.lock = before

    return restore


async def lock(svc: Service, user: User, body: Body) -> dict[str, Any]:
    _known(body, "lock_key", "note", "environment", "queue")
    key = body.get("lock_key")
    if not isinstance(key, str) or not key:
        raise RequestRejected(400, "'lock_key' must be a non-empty string")
    environment, queue = bool(body.get("environment")), bool(body.get("queue"))
    if not (environment or queue):
        raise RequestRejected(400, "lock what? set 'environment' and/or 'queue' to true")
    if svc.lock.locked and key != svc.lock.key:
        raise RequestRejected(403, f"already locked by {svc.lock.user!r} with another key")
    undo = _lock_restorer(svc)
    svc.lock = Lock(environment, queue, key, user.name, body.get("note"), time.time())
    await _commit(svc, undo, lambda: svc.store.save_lock(svc.lock.stored()))
    return ok(lock_info=svc.lock.info(), lock_info_uid=svc.lock.uid)


async def unlock(svc: Service, user: User, body: Body) -> dict[str, Any]:
    _known(body, "lock_key")
    if svc.lock.locked and body.get("lock_key") != svc.lock.key:
        raise RequestRejected(403, f"wrong lock_key: locked by {svc.lock.user!r}")
    undo = _lock_restorer(svc)
    svc.lock = Lock()
    await _commit(svc, undo, lambda: svc.store.save_lock(None))
    return ok(lock_info=svc.lock.info(), lock_info_uid=svc.lock.uid)


async def lock_info(svc: Service, user: User, body: Body) -> dict[str, Any]:
    _known(body, "lock_key")
    key = body.get("lock_key")
    if key is not None and svc.lock.locked and key != svc.lock.key:
        raise RequestRejected(403, "the lock_key does not match the key the service is locked with")
    return ok(lock_info=svc.lock.info(), lock_info_uid=svc.lock.uid)


# -- console -------------------------------------------------------------------------------


async def console_output(svc: Service, user: User, body: Body) -> dict[str, Any]:
    nlines = body.get("nlines")
    return ok(text=svc.console.text(nlines if isinstance(nlines, int) else None))


async def console_output_uid(svc: Service, user: User, body: Body) -> dict[str, Any]:
    return ok(console_output_uid=svc.console.uid)


async def console_output_update(svc: Service, user: User, body: Body) -> dict[str, Any]:
    return svc.console.since(str(body.get("last_msg_uid", "")))


def unsupported(what: str) -> Handler:
    async def handler(svc: Service, user: User, body: Body) -> dict[str, Any]:
        raise RequestRejected(400, f"{what} is not supported by acq's queue service")

    return handler
