"""The message a plan yields to the engine."""

from __future__ import annotations

from typing import Any, NamedTuple


class _MsgFields(NamedTuple):
    command: str
    obj: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    run: str | None


class Msg(_MsgFields):
    """One instruction from a plan: ``Msg("set", motor, 5, group="A")``.

    Same field layout as bluesky's ``Msg``: ``command, obj, args, kwargs, run``. The
    constructor takes positional arguments after ``obj`` as ``args`` and keywords as
    ``kwargs``; ``run`` names the run (for concurrent runs) and defaults to ``None``.
    """

    __slots__ = ()

    def __new__(
        cls, command: str, obj: Any = None, *args: Any, run: str | None = None, **kwargs: Any
    ) -> Msg:
        return tuple.__new__(cls, (command, obj, args, kwargs, run))

    def __repr__(self) -> str:
        parts = [repr(self.command)]
        if self.obj is not None:
            parts.append(str(getattr(self.obj, "name", self.obj)))
        parts.extend(repr(a) for a in self.args)
        parts.extend(f"{k}={v!r}" for k, v in self.kwargs.items())
        if self.run is not None:
            parts.append(f"run={self.run!r}")
        return f"Msg({', '.join(parts)})"
