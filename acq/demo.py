"""``acq demo``: a short session against the simulated beamline.

This module is the composition root: it is the one place that wires the simulated IOC,
the device layer, the engine and the plans together, the way a beamline's startup file
would. It starts its own peers on private loopback ports, so it never touches a real
beamline and two demos on one machine do not collide.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from iocs.processes import CAEnvironment, running, start_repeater, start_sim_ioc, wait_for_pvs

PREFIX = "sim:"


def _print(*parts: object) -> None:
    print(*parts, flush=True)


async def session(prefix: str) -> None:
    """What a scientist would type: move a motor, count the scaler, read the results."""
    import aioca

    try:
        m1 = f"{prefix}m1"
        _print(f"m1 is at {await aioca.caget(m1 + '.RBV'):.4f} mm; moving to 0.5 mm ...")
        await aioca.caput(m1, 0.5, wait=True, timeout=30)
        _print(f"m1 arrived at {await aioca.caget(m1 + '.RBV'):.4f} mm")

        scaler = f"{prefix}scaler1"
        await aioca.caput(scaler + ".TP", 0.5, wait=True)
        _print("counting the scaler for 0.5 s ...")
        await aioca.caput(scaler + ".CNT", 1, wait=True, timeout=30)
        names = await aioca.caget([f"{scaler}.NM{i}" for i in range(1, 9)])
        counts = await aioca.caget([f"{scaler}.S{i}" for i in range(1, 9)])
        _print(f"{'channel':>8} {'counts':>12}")
        for name, value in zip(names, counts, strict=True):
            if name:
                _print(f"{name:>8} {int(value):>12d}")
    finally:
        aioca.purge_channel_caches()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="acq demo", description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", default=PREFIX, help="PV prefix of the simulated IOC")
    args = parser.parse_args(argv)

    env = CAEnvironment.allocate(n_servers=1)
    env.apply()  # before the first Channel Access call in this process
    logs = Path(tempfile.mkdtemp(prefix="acq-demo-"))
    port = env.server_ports[0]
    _print(f"starting the simulated beamline on 127.0.0.1:{port} (logs in {logs}) ...")
    with running(start_repeater(env, log=logs / "repeater.log"),
                 start_sim_ioc(env, port, args.prefix, log=logs / "ioc.log")) as (_, ioc):
        wait_for_pvs([f"{args.prefix}m1.RBV", f"{args.prefix}scaler1.CNT"], process=ioc)
        try:
            asyncio.run(session(args.prefix))
        except KeyboardInterrupt:
            _print("interrupted")
            return 130
    _print("demo finished; the simulated beamline has been stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
