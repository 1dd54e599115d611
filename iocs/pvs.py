"""Building blocks shared by the simulated devices: a PVGroup base and a put error.

caproto latches a WRITE/MAJOR alarm on a group's shared alarm whenever a put is rejected,
and nothing clears it again. An EPICS record refuses a bad put without changing its alarm
state, and a motor that reads MAJOR because someone typed a bad velocity misleads
everyone watching it, so `SimGroup` channels clear that alarm again after a rejection.
"""

from __future__ import annotations

from typing import Any

from caproto import AlarmSeverity, AlarmStatus, ChannelType
from caproto.server import PVGroup, pvproperty


class PutRejected(ValueError):
    """A put the simulated hardware refuses; the client gets a CA error with this text."""


class _RejectWithoutAlarm:
    """Mixin for caproto channel classes: a rejected write leaves no alarm behind."""

    alarm: Any

    async def write(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().write(*args, **kwargs)  # type: ignore[misc]
        except Exception:
            await self.alarm.write(status=AlarmStatus.NO_ALARM, severity=AlarmSeverity.NO_ALARM)
            raise


def _without_write_alarm(type_map: dict[Any, type]) -> dict[Any, type]:
    return {
        dtype: type(cls.__name__, (_RejectWithoutAlarm, cls), {}) for dtype, cls in type_map.items()
    }


class SimGroup(PVGroup):
    """Base of every simulated device: a PVGroup whose rejected puts raise no alarm."""

    type_map = _without_write_alarm(PVGroup.type_map)
    type_map_read_only = _without_write_alarm(PVGroup.type_map_read_only)


def text(name: str, value: str, doc: str, *, read_only: bool = False) -> pvproperty:
    """A DBR_STRING PV (caproto would make a CHAR waveform of a plain ``str`` value)."""
    return pvproperty(
        name=name, value=value, dtype=ChannelType.STRING, doc=doc, read_only=read_only
    )


def choice(
    name: str, choices: tuple[str, ...], value: str, doc: str, *, read_only: bool = False
) -> pvproperty:
    """An enum PV (an EPICS menu field)."""
    return pvproperty(
        name=name,
        value=value,
        dtype=ChannelType.ENUM,
        enum_strings=choices,
        doc=doc,
        read_only=read_only,
    )
