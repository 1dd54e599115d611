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
import contextlib
import time
from typing import Any

from acq.protocols import Location, Progress

from ..datatypes import check_value
from ..device import DEFAULT_TIMEOUT
from ..errors import (
    MotorLimitError,
    MotorStoppedError,
    NotConnectedError,
    SignalValueError,
    StatusTimeoutError,
)
from ..readable import Format, StandardReadable
from ..signal import SignalR
from ..status import Status
from .ca import CaBackend
from .signal import EpicsSignalRO, EpicsSignalRW, EpicsSignalX

__all__ = ["MOVE_TIMEOUT_MARGIN", "EpicsMotor"]

#: seconds a move may take beyond its travel and ramp times before it counts as stuck
MOVE_TIMEOUT_MARGIN = 10.0


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
        self._move: _Move | None = None
        self._paused = False
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
            "accl": self.acceleration,
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
        """Move to `value`: put VAL with callback; done when the motor record says so.

        Without `timeout`, the move may take as long as the travel needs at VELO plus
        twice ACCL, plus `MOVE_TIMEOUT_MARGIN` (as ophyd-async's Motor); a move that
        overruns is stopped and fails with `StatusTimeoutError` naming the PV.
        """
        try:
            target = check_value(float, value)
        except SignalValueError as error:
            raise SignalValueError(f"{self.name}: {error}") from None
        self._check_limits(target)
        self.user_setpoint.check(target)
        if self._move is not None:
            self._move.supersede()  # the record re-targets; the old status ends with it
        move = self._move = _Move(target, timeout)
        status = Status.reporting(lambda status: self._travel(status, move), name=move.name(self))
        move.status = status
        return status

    def _check_limits(self, target: float) -> None:
        limits = self.limits
        if limits is not None and not limits[0] <= target <= limits[1]:
            raise MotorLimitError(self.name or self.prefix, target, *limits)

    def move_timeout(self, target: float) -> float:
        """How long a move to `target` may take: travel at VELO, two ramps, a margin."""
        position = self._watched.get("rbv") or 0.0
        velocity = self._watched.get("velo") or 0.0
        ramps = 2 * (self._watched.get("accl") or 0.0)
        travel = abs(target - position) / velocity if velocity > 0 else 0.0
        return travel + ramps + MOVE_TIMEOUT_MARGIN

    async def _travel(self, status: Status, move: _Move) -> None:
        target = move.target
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
            await self._put_target(move)
            # Paused (SPMG=Pause): the record halted and keeps VAL. The move continues
            # only through `resume()`, and never once the move was stopped: a stopped
            # move is over, whatever pauses and resumes follow.
            while self._paused and not move.stopped and not move.superseded:
                await move.wait_for_change()
                if move.stopped or move.superseded or self._paused:
                    continue
                await self._put_target(move)
        finally:
            self._progress.remove(report)
        if move.stopped and not move.stop_success:
            raise MotorStoppedError(f"{self.name}: the move to {target:g} was stopped")
        if move.stopped or move.superseded:
            return
        if self._watched.get("lvio") and await self.limit_violation.get_value():
            # the IOC refused (its limits changed after ours were last updated). The
            # monitored LVIO only tells us to look: its update clearing an earlier
            # violation can trail a short move's completion, so the fresh value decides.
            low, high = self.limits or (float("nan"), float("nan"))
            raise MotorLimitError(self.name or self.prefix, target, low, high)
        report(target)

    async def _put_target(self, move: _Move) -> None:
        """Put VAL with callback, bounded; on overrun stop the motor and say so."""
        timeout = move.timeout if move.timeout is not None else self.move_timeout(move.target)
        try:
            await self.user_setpoint.backend.put(move.target, wait=True, timeout=timeout)
        except StatusTimeoutError:
            move.stopped = True
            with contextlib.suppress(Exception):  # best effort: the error below is the news
                await self.motor_stop.trigger(wait=False)
            raise StatusTimeoutError(
                f"{self.name}: the move to {move.target:g} did not finish within "
                f"{timeout:.3g} s (put to {self.prefix}.VAL with callback); the motor was "
                f"stopped at its position. Check VELO/ACCL and the controller, or pass "
                f"a longer timeout to set()"
            ) from None

    @property
    def _rbv_backend(self) -> CaBackend[float]:
        return self.user_readback.backend  # type: ignore[return-value]

    def stop(self, success: bool = True) -> Status:
        """Halt now; the pending move's status succeeds, or fails if not `success`.

        Puts STOP=1 (the record sets VAL to where the motor is). A move held by `pause`
        is cancelled too (SPMG=Stop): nothing moves on a later `resume`.
        """
        move = self._move
        if move is not None and not move.finished:
            move.stop(success)
        return Status(self._halt(), name=f"{self.name}.stop")

    async def _halt(self) -> None:
        await self.motor_stop.trigger(wait=True, timeout=self._io_timeout)
        if self._paused:
            await self.stop_pause_go.set("Stop", timeout=self._io_timeout)

    def pause(self) -> Status:
        """SPMG=Pause: halt, keeping the target; a pending move goes on after `resume`."""
        self._paused = True
        if self._move is not None:
            self._move.wake()
        return self.stop_pause_go.set("Pause", timeout=self._io_timeout)

    def resume(self) -> Status:
        """SPMG=Go: moves are allowed again; a paused move that was not stopped goes on."""
        return Status(self._go(), name=f"{self.name}.resume")

    async def _go(self) -> None:
        await self.stop_pause_go.set("Go", timeout=self._io_timeout)
        self._paused = False
        if self._move is not None:
            self._move.wake()

    @property
    def _io_timeout(self) -> float:
        return self._rbv_backend.io_timeout

    async def locate(self) -> Location:
        """Setpoint and readback, read fresh in one round trip."""
        setpoint, readback = await CaBackend.read_many(
            [self.user_setpoint.backend, self.user_readback.backend]
        )
        return {"setpoint": setpoint["value"], "readback": readback["value"]}


class _Move:
    """One requested move: its target and what has happened to it since."""

    __slots__ = ("_changed", "status", "stop_success", "stopped", "superseded", "target", "timeout")

    def __init__(self, target: float, timeout: float | None) -> None:
        self.target = target
        self.timeout = timeout
        self.status: Status | None = None
        self.stopped = False
        self.stop_success = True
        self.superseded = False
        self._changed = asyncio.Event()

    def name(self, motor: EpicsMotor) -> str:
        return f"{motor.name} -> {self.target:g}"

    @property
    def finished(self) -> bool:
        return self.status is not None and self.status.done

    def supersede(self) -> None:
        self.superseded = True
        self.wake()

    def stop(self, success: bool) -> None:
        self.stopped = True
        self.stop_success = self.stop_success and success
        self.wake()

    def wake(self) -> None:
        self._changed.set()

    async def wait_for_change(self) -> None:
        await self._changed.wait()
        self._changed.clear()
