"""A scan that a test interrupts with SIGINT (Ctrl-C); driven through stdin/stdout.

Prints READY, one ``EVENT n`` per primary event, ``PAUSED ...`` when RE(...) raises
RunEnginePaused, then reads ``resume`` or ``abort`` from stdin, prints ``RESULT ...`` and
``IDLE``, and sleeps (a SIGINT now must be an ordinary KeyboardInterrupt again).
"""

from __future__ import annotations

import asyncio
import signal
import sys

from acq import Msg, RunEngine, RunEnginePaused
from devices.sim import SimDetector, SimMotor


async def stepped_scan(motor, det, n, hang=False):
    yield Msg("open_run")
    for i in range(1, n + 1):
        if hang and i == 2:
            print("HANGING", flush=True)
            await asyncio.Event().wait()  # the plan's own code waits for ever
        yield Msg("checkpoint")
        yield Msg("set", motor, float(i), group="move")
        yield Msg("wait", None, group="move")
        yield Msg("trigger", det, group="det")
        yield Msg("wait", None, group="det")
        yield Msg("create", None, name="primary")
        yield Msg("read", motor)
        yield Msg("read", det)
        yield Msg("save")
    yield Msg("close_run")


async def main(velocity: float, hang: bool) -> None:
    RE = RunEngine(waiting_hook=None)
    primary: set[str] = set()
    seq_nums: list[int] = []

    def show(name, doc):
        if name == "descriptor" and doc["name"] == "primary":
            primary.add(doc["uid"])
        elif name == "event" and doc["descriptor"] in primary:
            seq_nums.append(doc["seq_num"])
            print(f"EVENT {doc['seq_num']}", flush=True)

    RE.subscribe(show)
    m1 = SimMotor("m1", velocity=velocity)
    det = SimDetector("det", m1)
    print("READY", flush=True)
    try:
        result = await RE(stepped_scan(m1, det, 5, hang))
    except RunEnginePaused as paused:
        print(f"PAUSED events={len(seq_nums)} position={m1.position:.4f} | {paused}", flush=True)
        command = sys.stdin.readline().strip()
        result = await (RE.resume() if command == "resume" else RE.abort("operator"))
    print(f"RESULT {result.exit_status} seq_nums={seq_nums}", flush=True)
    print("IDLE", flush=True)
    await asyncio.sleep(120)  # until the Ctrl-C the test sends (or the test kills us)


if __name__ == "__main__":
    # Ctrl-C as in a terminal. A test runner started as a background job (`pytest &` from
    # a script) has SIGINT ignored, and children inherit that: the engine restores what it
    # found after each call, so the final Ctrl-C would be ignored too.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    asyncio.run(main(float(sys.argv[1]), "hang" in sys.argv[2:]))
