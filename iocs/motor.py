"""A motor-record emulation: ``P{name}`` (= ``.VAL``) and its fields ``P{name}.FIELD``.

A put to VAL starts a trapezoidal move (`iocs.motion.Trapezoid`: VELO, ACCL) from where the
axis is now (`iocs.axis.Axis`); RBV follows at 50 Hz and equals the target when the move
ends. The put's callback completes only when the axis is done (DMOV back to 1), so
``caput(..., wait=True)`` returns at the end of the move. A new VAL during a move
re-targets it, starting a fresh ramp from the current position, and every pending
callback completes when the axis stops. STOP=1 (or SPMG=Stop/Pause) halts the axis where
it is and completes pending callbacks; STOP and SPMG=Stop also set VAL to where the axis
is (cancelling a target held by Pause), SPMG=Pause keeps VAL so that Go resumes the move.
A target outside LLM..HLM does not move, sets LVIO=1 and completes at once.

Positions are user coordinates: user = dial + OFF, so HLM = DHLM + OFF.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caproto import SkipWrite
from caproto.server import pvproperty

from .axis import Axis
from .pvs import PutRejected, SimGroup, choice, text

TICK = 0.02  # s between readback updates while moving
SPMG = ("Stop", "Pause", "Move", "Go")


@dataclass(frozen=True)
class MotorConfig:
    egu: str = "mm"
    low: float = -100.0
    high: float = 100.0
    desc: str = ""


class Motor(SimGroup):
    """One axis of the motor record, moving in simulated time."""

    val = pvproperty(name="", value=0.0, precision=4, doc="target position (also .VAL)")
    rbv = pvproperty(name=".RBV", value=0.0, precision=4, read_only=True, doc="readback position")
    dmov = pvproperty(name=".DMOV", value=1, read_only=True, doc="1 when done moving")
    movn = pvproperty(name=".MOVN", value=0, read_only=True, doc="1 while moving")
    stop = pvproperty(name=".STOP", value=0, doc="put 1 to halt where it is")
    spmg = choice(".SPMG", SPMG, "Go", "Stop/Pause halt; Move/Go allow and resume moves")
    velo = pvproperty(name=".VELO", value=1.0, precision=4, doc="speed (EGU/s)")
    vmax = pvproperty(name=".VMAX", value=10.0, precision=4, doc="highest allowed VELO")
    accl = pvproperty(
        name=".ACCL",
        value=0.05,
        precision=3,
        lower_ctrl_limit=0.0,
        upper_ctrl_limit=10.0,
        doc="seconds to reach VELO",
    )
    hlm = pvproperty(name=".HLM", value=100.0, precision=4, doc="high limit (user)")
    llm = pvproperty(name=".LLM", value=-100.0, precision=4, doc="low limit (user)")
    dhlm = pvproperty(name=".DHLM", value=100.0, precision=4, doc="high limit (dial)")
    dllm = pvproperty(name=".DLLM", value=-100.0, precision=4, doc="low limit (dial)")
    lvio = pvproperty(
        name=".LVIO", value=0, read_only=True, doc="1 when the last target was outside the limits"
    )
    egu = text(".EGU", "mm", "engineering units")
    desc = text(".DESC", "", "description")
    prec = pvproperty(
        name=".PREC", value=4, lower_ctrl_limit=0, upper_ctrl_limit=15, doc="display precision"
    )
    mres = pvproperty(name=".MRES", value=0.0001, precision=6, doc="motor resolution")
    rdbd = pvproperty(name=".RDBD", value=0.0001, precision=6, doc="retry deadband")
    off = pvproperty(name=".OFF", value=0.0, precision=4, doc="user offset: user = dial + OFF")
    # Fields ophyd's EpicsMotor and ophyd-async's Motor connect to: idle values of a real
    # record (no hard limit switches, no homing, a simulated asyn output).
    dir = choice(".DIR", ("Pos", "Neg"), "Pos", "user direction")
    foff = choice(".FOFF", ("Variable", "Frozen"), "Variable", "offset freeze switch")
    set_use = choice(".SET", ("Use", "Set"), "Use", "calibration set/use")
    hls = pvproperty(name=".HLS", value=0, read_only=True, doc="at high limit switch")
    lls = pvproperty(name=".LLS", value=0, read_only=True, doc="at low limit switch")
    tdir = pvproperty(name=".TDIR", value=0, read_only=True, doc="direction of travel")
    homf = pvproperty(name=".HOMF", value=0, doc="home forward (not simulated)")
    homr = pvproperty(name=".HOMR", value=0, doc="home reverse (not simulated)")
    srev = pvproperty(name=".SREV", value=200, doc="steps per revolution")
    urev = pvproperty(name=".UREV", value=1.0, precision=4, doc="EGU per revolution")
    eres = pvproperty(name=".ERES", value=0.0001, precision=6, doc="encoder resolution")
    out = text(".OUT", "asyn(sim)", "output specification", read_only=True)

    def __init__(self, prefix: str, config: MotorConfig | None = None, **kwargs: Any) -> None:
        super().__init__(prefix, **kwargs)
        self.config = config or MotorConfig()
        self.axis = Axis(position=0.0, tick=TICK)

    # -- the motion loop -------------------------------------------------------------

    @rbv.startup
    async def rbv(self, instance: Any, async_lib: Any) -> None:
        await self._configure()
        await self.axis.run(instance.write, self._settle)

    async def _configure(self) -> None:
        await self.egu.write(self.config.egu)
        await self.desc.write(self.config.desc)
        await self.hlm.write(self.config.high)
        await self.llm.write(self.config.low)

    async def _start_move(self, target: float) -> None:
        await self.axis.move(target, self.velo.value, self.accl.value, self._unsettle)

    async def _unsettle(self) -> None:
        await self.dmov.write(0)
        await self.movn.write(1)

    async def _settle(self) -> None:
        await self.movn.write(0)
        await self.dmov.write(1)

    async def halt(self, *, keep_target: bool = False) -> None:
        """Stop where the axis is now; VAL becomes that position unless keep_target.

        As in the motor record, Stop cancels the target also when the axis is idle (a
        target held by an earlier Pause must not be resumed by the next Go).
        """
        here = await self.axis.halt()
        if keep_target:
            return
        if here is None:
            here = self.axis.position()
        if self.val.value != here:
            await self.val.write(here, verify_value=False)

    # -- puts ------------------------------------------------------------------------

    @val.putter
    async def val(self, instance: Any, value: float) -> Any:
        if not self.llm.value <= value <= self.hlm.value:
            await self.lvio.write(1)
            return SkipWrite
        if self.lvio.value:
            await self.lvio.write(0)
        await instance.write(value, verify_value=False)
        if self.spmg.value in ("Stop", "Pause"):
            return SkipWrite
        await self._start_move(value)
        await self.axis.wait_done()
        return SkipWrite

    @stop.putter
    async def stop(self, instance: Any, value: int) -> int:
        if value:
            await self.halt()
        return 0

    @spmg.putter
    async def spmg(self, instance: Any, value: str) -> str:
        if value in ("Stop", "Pause"):
            await self.halt(keep_target=value == "Pause")
        elif self.val.value != self.rbv.value:
            await self._start_move(self.val.value)
        return value

    @velo.putter
    async def velo(self, instance: Any, value: float) -> float:
        if not 0 < value <= self.vmax.value:
            raise PutRejected(
                f"{instance.pvname}: VELO must be > 0 and <= VMAX ({self.vmax.value}), not {value}"
            )
        return value

    @vmax.putter
    async def vmax(self, instance: Any, value: float) -> float:
        if value <= 0:
            raise PutRejected(f"{instance.pvname}: VMAX must be > 0, not {value}")
        if self.velo.value > value:
            await self.velo.write(value, verify_value=False)
        return value

    @hlm.putter
    async def hlm(self, instance: Any, value: float) -> float:
        if value < self.llm.value:
            raise PutRejected(f"{instance.pvname}: HLM {value} is below LLM {self.llm.value}")
        await self.dhlm.write(value - self.off.value, verify_value=False)
        await self._publish_limits(self.llm.value, value)
        return value

    @llm.putter
    async def llm(self, instance: Any, value: float) -> float:
        if value > self.hlm.value:
            raise PutRejected(f"{instance.pvname}: LLM {value} is above HLM {self.hlm.value}")
        await self.dllm.write(value - self.off.value, verify_value=False)
        await self._publish_limits(value, self.hlm.value)
        return value

    @dhlm.putter
    async def dhlm(self, instance: Any, value: float) -> Any:
        await self.hlm.write(value + self.off.value)
        return SkipWrite  # the HLM putter wrote DHLM

    @dllm.putter
    async def dllm(self, instance: Any, value: float) -> Any:
        await self.llm.write(value + self.off.value)
        return SkipWrite  # the LLM putter wrote DLLM

    @off.putter
    async def off(self, instance: Any, value: float) -> float:
        if self.axis.moving:
            raise PutRejected(f"{instance.pvname}: cannot change the offset while moving")
        shift = value - self.off.value
        self.axis.relocate(self.axis.position() + shift)
        for field in (self.val, self.rbv, self.hlm, self.llm):
            await field.write(field.value + shift, verify_value=False)
        await self._publish_limits(self.llm.value, self.hlm.value)
        return value

    @egu.putter
    async def egu(self, instance: Any, value: str) -> str:
        for field in self._position_fields():
            await field.write_metadata(units=value)
        return value

    @prec.putter
    async def prec(self, instance: Any, value: int) -> int:
        for field in self._position_fields():
            await field.write_metadata(precision=value)
        return value

    def _position_fields(self) -> tuple[Any, ...]:
        return (self.val, self.rbv, self.hlm, self.llm, self.dhlm, self.dllm, self.off)

    async def _publish_limits(self, low: float, high: float) -> None:
        """Clients read the soft limits as display limits of VAL and RBV."""
        for field in (self.val, self.rbv):
            await field.write_metadata(lower_disp_limit=low, upper_disp_limit=high)
