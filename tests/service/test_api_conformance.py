"""Every call in bluesky-queueserver-api's HTTP method map reaches a handler: a JSON reply,
never 404/405 or a 500, and what acq does not do is refused by name."""

from __future__ import annotations

import httpx
import pytest
from bluesky_queueserver_api.comm_base import rest_api_method_map
from service_helpers import ADMIN_KEY, ServiceProcess, auth

# what the service refuses on purpose (400 naming it): no scripts, functions, background
# tasks, IPython kernel, autostart, permission edits or key management over HTTP
NOT_SUPPORTED = {
    "queue_autostart",
    "permissions_reload",
    "permissions_set",
    "script_upload",
    "function_execute",
    "task_status",
    "task_result",
    "kernel_interrupt",
    "manager_stop",
    "manager_kill",
    "apikey_new",
    "apikey_delete",
    "session_refresh",
}


@pytest.mark.slow
def test_every_client_call_is_answered(new_service: ServiceProcess) -> None:
    service = new_service.start()
    answered, refused = [], []
    with httpx.Client(base_url=service.url, headers=auth(ADMIN_KEY), timeout=30) as http:
        for name, (method, path) in sorted(rest_api_method_map.items()):
            reply = http.request(method, path, json={})
            assert reply.status_code < 500, (name, reply.text)
            assert reply.status_code not in (404, 405), (name, reply.status_code)
            detail = reply.json()
            if name in NOT_SUPPORTED:
                assert reply.status_code == 400, name
                assert "not supported" in detail["detail"], name
                refused.append(name)
            else:
                answered.append(name)
    assert len(answered) + len(refused) == len(rest_api_method_map)
    assert {"status", "queue_item_add", "re_pause", "history_get", "lock"} <= set(answered)
    assert service.process is not None and service.process.alive()
