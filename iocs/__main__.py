"""``python -m iocs`` (also ``acq iocs``): serve the simulated beamline until Ctrl-C.

python -m iocs --prefix sim: --port 5094
python -m iocs --list-pvs
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from .processes import LOOPBACK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m iocs", description="Serve the simulated beamline over Channel Access."
    )
    parser.add_argument("--prefix", default="sim:", help="PV name prefix (default: sim:)")
    parser.add_argument(
        "--port", type=int, default=5094, help="CA server port, UDP and TCP (default: 5094)"
    )
    parser.add_argument(
        "--interfaces",
        nargs="+",
        default=[LOOPBACK],
        metavar="ADDRESS",
        help=f"addresses to serve on (default: {LOOPBACK})",
    )
    parser.add_argument("--list-pvs", action="store_true", help="print every PV name and exit")
    parser.add_argument(
        "--seed", type=int, default=None, help="seed the random noise, for reproducible counts"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log caproto's INFO too")
    return parser


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    # SIGTERM during start-up stops as cleanly as Ctrl-C; once serving, the server's own
    # handlers take over.
    signal.signal(signal.SIGTERM, _interrupt)
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        return 0


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from .beamline import Beamline  # caproto and numpy: imported after the handler is set
    from .server import NoDelayContext, configure_logging, serve

    beamline = Beamline(args.prefix, seed=args.seed)
    names = beamline.pv_names()
    if args.list_pvs:
        print("\n".join(names))
        return 0

    # caproto reads its port and interfaces from the environment when the context is built
    os.environ["EPICS_CA_SERVER_PORT"] = str(args.port)
    os.environ["EPICS_CAS_INTF_ADDR_LIST"] = " ".join(args.interfaces)
    configure_logging(args.verbose)

    def ready(context: NoDelayContext) -> None:
        where = ", ".join(f"{interface}:{context.port}" for interface in args.interfaces)
        print(f"serving {len(names)} PVs with prefix {args.prefix} on {where}", flush=True)

    asyncio.run(serve(beamline.pvdb, args.interfaces, ready))
    return 0


if __name__ == "__main__":
    sys.exit(main())
