"""``python -m iocs`` (also ``acq iocs``): serve the simulated beamline until Ctrl-C.

python -m iocs --prefix sim: --port 5094
python -m iocs --list-pvs

A port that another server already holds is refused before serving: CA servers share
their UDP port, so a second beamline would start quietly and clients would reach either
one at random.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from .processes import LOOPBACK, busy_protocols, when_stdin_closes


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Serve the simulated beamline over Channel Access."
    )
    parser.add_argument("--prefix", default="sim:", help="PV name prefix (default: sim:)")
    parser.add_argument(
        "--port", type=_port, default=5094, help="CA server port, UDP and TCP (default: 5094)"
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
    parser.add_argument(
        "--exit-with-stdin",
        action="store_true",
        help="stop when standard input closes (the process that started this one died)",
    )
    return parser


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1 to 65535)")
    return port


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None, prog: str = "acq iocs") -> int:
    # SIGTERM during start-up stops as cleanly as Ctrl-C; once serving, the server's own
    # handlers take over.
    signal.signal(signal.SIGTERM, _interrupt)
    args = _parser(prog).parse_args(argv)
    if args.exit_with_stdin:  # stop as on SIGTERM, rather than serve on with nobody to end us
        when_stdin_closes(lambda: os.kill(os.getpid(), signal.SIGTERM))
    try:
        return _run(args, prog)
    except KeyboardInterrupt:
        return 0


def _run(args: argparse.Namespace, prog: str) -> int:
    import asyncio

    from .beamline import Beamline  # caproto and numpy: imported after the handler is set
    from .server import NoDelayContext, configure_logging, serve

    beamline = Beamline(args.prefix, seed=args.seed)
    names = beamline.pv_names()
    if args.list_pvs:
        print("\n".join(names))
        return 0

    if taken := _taken(args.port, args.interfaces):
        print(
            f"{prog}: port {args.port} is already in use ({taken}), probably by another IOC; "
            f"stop it or choose another --port",
            file=sys.stderr,
        )
        return 1

    # caproto reads its port and interfaces from the environment when the context is built
    os.environ["EPICS_CA_SERVER_PORT"] = str(args.port)
    os.environ["EPICS_CAS_INTF_ADDR_LIST"] = " ".join(args.interfaces)
    configure_logging(args.verbose)

    def ready(context: NoDelayContext) -> None:
        where = ", ".join(f"{interface}:{context.port}" for interface in args.interfaces)
        print(f"serving {len(names)} PVs with prefix {args.prefix} on {where}", flush=True)

    asyncio.run(serve(beamline.pvdb, args.interfaces, ready))
    return 0


def _taken(port: int, interfaces: Sequence[str]) -> str:
    """``"UDP on 127.0.0.1"``-style description of what is taken, or ``""``."""
    return ", ".join(
        f"{'+'.join(busy)} on {interface}"
        for interface in interfaces
        if (busy := busy_protocols(port, interface))
    )


if __name__ == "__main__":
    sys.exit(main(prog="python -m iocs"))
