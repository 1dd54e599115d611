"""A PSS shutter: ``Pshutter:open`` / ``close`` commands and a ``state`` that follows.

A command takes effect ``delay`` seconds after it is given; its callback completes when the
state has changed, or at once when the shutter is already there. A later command replaces
a pending one. The command PVs read 0 between commands.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from caproto.server import pvproperty

from .pvs import SimGroup, choice

STATES = ("Closed", "Open")


@dataclass(frozen=True)
class _Pending:
    state: str
    due: float  # time.monotonic() at which the state changes


class Shutter(SimGroup):
    """A beamline shutter with a mechanical delay."""

    open = pvproperty(name="open", value=0, doc="put 1 to open")
    close = pvproperty(name="close", value=0, doc="put 1 to close")
    state = choice("state", STATES, "Open", "Closed or Open", read_only=True)
    delay = pvproperty(
        name="delay",
        value=0.5,
        precision=2,
        units="s",
        lower_ctrl_limit=0.0,
        upper_ctrl_limit=60.0,
        doc="seconds from command to state change",
    )

    def __init__(self, prefix: str, **kwargs: Any) -> None:
        super().__init__(prefix, **kwargs)
        self._pending: _Pending | None = None
        self._wake = asyncio.Event()
        self._settled = asyncio.Event()
        self._settled.set()

    @property
    def is_open(self) -> bool:
        return self.state.value == "Open"

    @open.putter
    async def open(self, instance: Any, value: int) -> int:
        if value:
            await self._command("Open")
        return 0

    @close.putter
    async def close(self, instance: Any, value: int) -> int:
        if value:
            await self._command("Closed")
        return 0

    async def _command(self, state: str) -> None:
        if self._pending is None and self.state.value == state:
            return
        self._pending = _Pending(state, time.monotonic() + self.delay.value)
        self._settled.clear()
        self._wake.set()
        await self._settled.wait()

    @state.startup
    async def state(self, instance: Any, async_lib: Any) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while (pending := self._pending) is not None:
                remaining = pending.due - time.monotonic()
                if remaining > 0:
                    await asyncio.sleep(remaining)
                    continue
                self._pending = None
                await instance.write(pending.state)
            self._settled.set()
