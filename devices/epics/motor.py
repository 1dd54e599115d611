"""EpicsMotor: the EPICS motor record (VAL, RBV, DMOV, STOP, VELO, ACCL, HLM, LLM, ...).

    m1 = EpicsMotor("sim:m1", name="m1")
    await connect(m1)
    status = m1.set(5.0)         # put VAL with callback: done when the move ends
    status.watch(print)          # Progress from the RBV monitor while moving
    await status

The readback is read under the motor's own name (``m1``), the setpoint as
``m1_user_setpoint``; velocity, acceleration, units and offset are configuration. A target
outside HLM/LLM raises `MotorLimitError` before anything is sent.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from acq.protocols import Location, Progress

from ..datatypes import check_value
from ..device import DEFAULT_TIMEOUT
from ..errors import MotorLimitError, MotorStoppedError, NotConnectedError, SignalValueError
from ..readable import Format, StandardReadable
from ..signal import SignalR
from ..status import Status
from .ca import CaBackend
from .signal import EpicsSignalRO, EpicsSignalRW, EpicsSignalX

__all__ = ["EpicsMotor"]


class EpicsMotor(StandardReadable):
    """A motor record; see the module docstring."""

    def __init__(self, prefix: str, name: str = "") -> None:
        self.user_setpoint = EpicsSignalRW(f"{prefix}.VAL", datatype=float)
        self.user_readback = EpicsSignalRO(f"{prefix}.RBV", datatype=float)
        self.velocity = EpicsSignalRW(f"{prefix}.VELO", datatype=float)
        self.max_velocity = EpicsSignalRO(f"{prefix}.VMAX", datatype=float)
        self.acceleration = EpicsSignalRW(f"{prefix}.ACCL", datatype=float)
        self.motor_egu = EpicsSignalRO(f"{prefix}.EGU", datatype=str)
        self.user_offset = EpicsSignalRW(f"{prefix}.OFF", datatype=float)
        self.high_limit_travel = EpicsSignalRW(f"{prefix}.HLM", datatype=float)
        self.low_limit_travel = EpicsSignalRW(f"{prefix}.LLM", datatype=float)
        self.motor_done_move = EpicsSignalRO(f"{prefix}.DMOV", datatype=int)
        self.motor_is_moving = EpicsSignalRO(f"{prefix}.MOVN", datatype=int)
        self.limit_violation = EpicsSignalRO(f"{prefix}.LVIO", datatype=int)
        self.description = EpicsSignalRO(f"{prefix}.DESC", datatype=str)
        self.motor_stop = EpicsSignalX(f"{prefix}.STOP", value=1)
        self.stop_pause_go = EpicsSignalRW(f"{prefix}.SPMG", datatype=str)
        self.prefix = prefix
        # kept current by monitors from connect on: for checks and progress, never readings
        self._watched: dict[str, Any] = {}
        self._all_watched: asyncio.Event | None = None
        self._progress: list[Any] = []
        self._failed_stop: set[Status] = set()
        self._move: Status | None = None
        self._resumed = asyncio.Event()
        self._resumed.set()
        self.add_readables([self.user_readback], Format.HINTED)
        self.add_readables([self.user_setpoint])
        self.add_readables(
            [self.velocity, self.acceleration, self.motor_egu, self.user_offset], Format.CONFIG
        )
        super().__init__(name=name)

    def set_name(self, name: str) -> None:
        super().set_name(name)
        self.user_readback.set_name(name)  # the readback is the motor's own data key

    async def connect(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        await super().connect(timeout)
        if self._all_watched is not None:
            return
        watched: dict[str, SignalR[Any]] = {
            "rbv": self.user_readback,
            "hlm": self.high_limit_travel,
            "llm": self.low_limit_travel,
            "velo": self.velocity,
            "lvio": self.limit_violation,
        }
        self._all_watched = asyncio.Event()
        for key, signal in watched.items():
            signal.subscribe_value(self._watcher(key, len(watched)))
        try:  # limits must be known before the first move is checked against them
            async with asyncio.timeout(timeout):
                await self._all_watched.wait()
        except TimeoutError:
            missing = [watched[key].source for key in watched if key not in self._watched]
            raise NotConnectedError(
                f"{self.name}: no first update within {timeout:g} s from {', '.join(missing)}"
            ) from None

    def _watcher(self, key: str, count: int) -> Any:
        def update(value: Any) -> None:
            self._watched[key] = value
            if len(self._watched) == count and self._all_watched is not None:
                self._all_watched.set()
            if key == "rbv" and self._progress:
                for report in list(self._progress):
                    report(value)

        return update

    @property
    def limits(self) -> tuple[float, float] | None:
        """(LLM, HLM) as last reported by the IOC; None when the record has no limits."""
        low, high = self._watched.get("llm"), self._watched.get("hlm")
        if low is None or high is None or low == high:
            return None
        return low, high

    # -- Movable -------------------------------------------------------------------------

    def set(self, value: float, timeout: float | None = None) -> Status:
        """Move to `value`: put VAL with callback; done when the motor record says so."""
        try:
            target = check_value(float, value)
        except SignalValueError as error:
            raise SignalValueError(f"{self.name}: {error}") from None
        self._check_limits(target)
        self.user_setpoint.check(target)
        self._move = Status.reporting(
            lambda status: self._travel(status, target),
            name=f"{self.name} -> {target:g}",
            timeout=timeout,
        )
        return self._move

    def _check_limits(self, target: float) -> None:
        limits = self.limits
        if limits is not None and not limits[0] <= target <= limits[1]:
            raise MotorLimitError(self.name or self.prefix, target, *limits)

    async def _travel(self, status: Status, target: float) -> None:
        start = time.monotonic()
        initial = self._watched.get("rbv")
        metadata = self._rbv_backend.metadata
        units, precision = metadata.units or "", metadata.precision

        def report(position: float) -> None:
            velocity = self._watched.get("velo") or 0.0
            remaining = abs(target - position) / velocity if velocity > 0 else None
            status.set_progress(
                Progress(
                    self.name,
                    position,
                    initial,
                    target,
                    units,
                    precision,
                    time.monotonic() - start,
                    remaining,
                )
            )

        self._progress.append(report)
        try:
            await self.user_setpoint.backend.put(target, wait=True)
            while not self._resumed.is_set():  # paused (SPMG): the record halted the move
                await self._resumed.wait()
                await self.user_setpoint.backend.put(target, wait=True)
        finally:
            self._progress.remove(report)
        if status in self._failed_stop:
            self._failed_stop.discard(status)
            raise MotorStoppedError(f"{self.name}: the move to {target:g} was stopped")
        if self._watched.get("lvio") and await self.limit_violation.get_value():
            # the IOC refused (its limits changed after ours were last updated). The
            # monitored LVIO only tells us to look: its update clearing an earlier
            # violation can trail a short move's completion, so the fresh value decides.
            low, high = self.limits or (float("nan"), float("nan"))
            raise MotorLimitError(self.name or self.prefix, target, low, high)
        report(target)

    @property
    def _rbv_backend(self) -> CaBackend[float]:
        return self.user_readback.backend  # type: ignore[return-value]

    def stop(self, success: bool = True) -> Status:
        """Put STOP=1; the pending move's status succeeds, or fails if not `success`."""
        if not success and self._move is not None and not self._move.done:
            self._failed_stop.add(self._move)
        return self.motor_stop.trigger(wait=False)

    def pause(self) -> Status:
        """SPMG=Pause: halt; a pending move goes on to its target after `resume`."""
        self._resumed.clear()
        return self.stop_pause_go.set("Pause")

    def resume(self) -> Status:
        """SPMG=Go: moves are allowed again, and a paused move continues."""
        return Status(self._go(), name=f"{self.name}.resume")

    async def _go(self) -> None:
        await self.stop_pause_go.set("Go")
        self._resumed.set()

    async def locate(self) -> Location:
        """Setpoint and readback, read fresh in one round trip."""
        setpoint, readback = await CaBackend.read_many(
            [self.user_setpoint.backend, self.user_readback.backend]
        )
        return {"setpoint": setpoint["value"], "readback": readback["value"]}
