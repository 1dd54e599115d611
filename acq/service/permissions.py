"""Who may do what: API keys with scopes, user groups with allowed plans and devices.

A permissions file (YAML)::

    user_groups:
      staff:                       # everything
        allowed_plans: [".*"]
        allowed_devices: [".*"]
      users:
        allowed_plans: ["^count$", "^scan$", "^rel_scan$"]
        forbidden_plans: []
        allowed_devices: [".*"]
        forbidden_devices: ["^m2$"]   # no one in this group moves m2
    users:
      alice:
        group: users
        api_key: ${ALICE_API_KEY}  # environment variables are expanded
        scopes: [read, queue]
      bob:
        group: staff
        api_key: bob-secret
        scopes: [read, queue, control, admin]

Patterns are regular expressions matched against the whole name (``re.fullmatch``); a
name is allowed if some allowed pattern matches and no forbidden one does. Scopes:
``read`` (status, queue, history, lists), ``queue`` (edit the queue), ``control`` (start,
stop, pause, resume, execute, lock), ``admin`` (clear the history; implies all others).

bluesky-httpserver's single-user mode: ``ACQ_SERVE_API_KEY`` gives one key every scope
in the group ``primary`` (everything allowed unless the file defines ``primary``).
"""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import RequestRejected, StartupError

__all__ = ["SCOPES", "Group", "Permissions", "User", "load_permissions"]

SCOPES = ("read", "queue", "control", "admin")
SINGLE_USER_GROUP = "primary"
API_KEY_ENV = "ACQ_SERVE_API_KEY"
MAX_SEEN_HEADERS = 256  # valid Authorization headers remembered for the status fast path


@dataclass(frozen=True)
class Group:
    name: str
    allowed_plans: tuple[str, ...] = (".*",)
    forbidden_plans: tuple[str, ...] = ()
    allowed_devices: tuple[str, ...] = (".*",)
    forbidden_devices: tuple[str, ...] = ()

    @staticmethod
    def _match(name: str, allowed: Iterable[str], forbidden: Iterable[str]) -> bool:
        return any(re.fullmatch(p, name) for p in allowed) and not any(
            re.fullmatch(p, name) for p in forbidden
        )

    def allows_plan(self, name: str) -> bool:
        return self._match(name, self.allowed_plans, self.forbidden_plans)

    def allows_device(self, name: str) -> bool:
        return self._match(name, self.allowed_devices, self.forbidden_devices)


@dataclass(frozen=True)
class User:
    name: str
    group: str
    scopes: frozenset[str]
    api_key: str = field(repr=False, default="")

    def has(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes


@dataclass
class Permissions:
    groups: dict[str, Group]
    users: list[User]
    _seen: dict[bytes, User] = field(default_factory=dict, repr=False)

    def authenticate(self, authorization: str | None) -> User:
        """The user an ``Authorization: ApiKey <key>`` header names; 401 otherwise."""
        if not authorization:
            raise RequestRejected(401, "no API key: send the header 'Authorization: ApiKey <key>'")
        scheme, _, key = authorization.strip().partition(" ")
        if scheme.lower() != "apikey" or not key.strip():
            raise RequestRejected(
                401, f"unsupported authorization {scheme!r}: send 'Authorization: ApiKey <key>'"
            )
        key = key.strip()
        for user in self.users:
            if hmac.compare_digest(user.api_key.encode(), key.encode()):
                if len(self._seen) < MAX_SEEN_HEADERS:  # spelling variants are finite here
                    self._seen[authorization.encode("latin-1")] = user
                return user
        raise RequestRejected(401, "invalid API key")

    def known_header(self, header: bytes | None) -> User | None:
        """The user of an Authorization header that `authenticate` accepted before."""
        return None if header is None else self._seen.get(header)

    def require(self, user: User, scope: str) -> None:
        if not user.has(scope):
            raise RequestRejected(
                403,
                f"user {user.name!r} lacks the {scope!r} scope needed here "
                f"(has: {', '.join(sorted(user.scopes)) or 'none'})",
            )

    def group_of(self, user: User) -> Group:
        return self.groups[user.group]


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list):
        raise StartupError(f"{where} must be a list of patterns, got {value!r}")
    out = []
    for pattern in value:
        if pattern is None:  # bluesky-queueserver writes [null] for "everything"
            pattern = ".*"
        try:
            re.compile(str(pattern))
        except re.error as exc:
            raise StartupError(f"{where}: bad pattern {pattern!r}: {exc}") from exc
        out.append(str(pattern))
    return tuple(out)


def _groups(raw: Mapping[str, Any]) -> dict[str, Group]:
    groups = {}
    for name, spec in raw.items():
        spec = spec or {}
        if not isinstance(spec, Mapping):
            raise StartupError(f"user_groups.{name} must be a mapping")
        groups[name] = Group(
            name,
            _strings(spec.get("allowed_plans", [".*"]), f"user_groups.{name}.allowed_plans"),
            _strings(spec.get("forbidden_plans"), f"user_groups.{name}.forbidden_plans"),
            _strings(spec.get("allowed_devices", [".*"]), f"user_groups.{name}.allowed_devices"),
            _strings(spec.get("forbidden_devices"), f"user_groups.{name}.forbidden_devices"),
        )
    return groups


def _users(raw: Mapping[str, Any], groups: Mapping[str, Group]) -> list[User]:
    users = []
    for name, spec in raw.items():
        if not isinstance(spec, Mapping):
            raise StartupError(f"users.{name} must be a mapping with group, api_key, scopes")
        group = spec.get("group")
        if group not in groups:
            raise StartupError(
                f"users.{name}: group {group!r} is not defined under user_groups "
                f"(defined: {', '.join(groups) or 'none'})"
            )
        key = os.path.expandvars(str(spec.get("api_key") or ""))
        if not key or key.startswith("$"):
            raise StartupError(f"users.{name}: api_key is missing or its variable is not set")
        scopes = spec.get("scopes", ["read"])
        unknown = set(scopes) - set(SCOPES)
        if unknown:
            raise StartupError(f"users.{name}: unknown scopes {sorted(unknown)}; known: {SCOPES}")
        users.append(User(str(name), str(group), frozenset(scopes), key))
    return users


def load_permissions(path: str | Path | None, single_user_key: str | None = None) -> Permissions:
    """Read the permissions file (if any) and add the single-user key (if any)."""
    raw: Mapping[str, Any] = {}
    if path is not None:
        import yaml

        path = Path(path).expanduser()
        try:
            loaded = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise StartupError(f"cannot read the permissions file {path}: {exc}") from exc
        if not isinstance(loaded, Mapping):
            raise StartupError(
                f"the permissions file {path} must be a mapping (user_groups, users)"
            )
        raw = loaded
    groups = _groups(raw.get("user_groups") or {})
    groups.setdefault(SINGLE_USER_GROUP, Group(SINGLE_USER_GROUP))
    users = _users(raw.get("users") or {}, groups)
    if single_user_key:
        users.append(User("single_user", SINGLE_USER_GROUP, frozenset(SCOPES), single_user_key))
    if not users:
        raise StartupError(
            f"no API key is configured, so no one could use the service: set {API_KEY_ENV} "
            f"or give --permissions with users and their api_key"
        )
    keys = [u.api_key for u in users]
    if len(set(keys)) != len(keys):
        raise StartupError("two users share an API key; give each user their own")
    return Permissions(groups, users)
