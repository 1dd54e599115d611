"""PssShutter: a personnel-safety-system shutter, opened and closed by command PVs.

await shutter.set("open")    # done when the state PV says Open
await shutter.close()
"""

from __future__ import annotations

from ..epics.signal import EpicsSignalRO, EpicsSignalRW, EpicsSignalX
from ..errors import SignalValueError
from ..readable import Format, StandardReadable
from ..status import Status
from ..wait import wait_for_value

__all__ = ["PssShutter"]

_STATES = {"open": "Open", "close": "Closed", "closed": "Closed"}


class PssShutter(StandardReadable):
    """``open``/``close`` commands (put 1) and a ``state`` enum (Closed/Open)."""

    #: seconds to wait for the state to follow a command before giving up
    state_timeout = 30.0

    def __init__(self, prefix: str, name: str = "") -> None:
        self.open_command = EpicsSignalX(f"{prefix}open", value=1)
        self.close_command = EpicsSignalX(f"{prefix}close", value=1)
        self.state = EpicsSignalRO(f"{prefix}state", datatype=str)
        self.delay = EpicsSignalRW(f"{prefix}delay", datatype=float)
        self.add_readables([self.state], Format.HINTED)
        super().__init__(name=name)

    def set_name(self, name: str) -> None:
        super().set_name(name)
        self.state.set_name(name)

    def set(self, value: str, timeout: float | None = None) -> Status:
        """``"open"`` or ``"close"``; done when the state PV reports it."""
        wanted = _STATES.get(str(value).lower())
        if wanted is None:
            raise SignalValueError(
                f"{self.name}: {value!r} is not a shutter command; use 'open' or 'close'"
            )
        command = self.open_command if wanted == "Open" else self.close_command
        return Status(
            self._command(command, wanted), name=f"{self.name} -> {value}", timeout=timeout
        )

    async def _command(self, command: EpicsSignalX, wanted: str) -> None:
        await command.trigger(wait=True)
        await wait_for_value(self.state, wanted, timeout=self.state_timeout)

    def open(self) -> Status:
        return self.set("open")

    def close(self) -> Status:
        return self.set("close")

    async def is_open(self) -> bool:
        return await self.state.get_value() == "Open"
