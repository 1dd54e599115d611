"""``acq demo``: a short session against the simulated beamline, from start to files.

It starts its own peers (the simulated IOC and a CA repeater) on private loopback
ports, so it never touches a real beamline and two demos on one machine do not collide;
runs the session (`acq.app.session`); and stops the peers whatever happens. Runs go to
``--catalog URI`` (``mongodb://...`` included), else ``$ACQ_CATALOG`` (as for ``acq runs``),
else an embedded catalog under the state directory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from .args import port_number

PREFIX = "sim:"
CATALOG_ENV = "ACQ_CATALOG"  # as for acq runs/show/export


def _parser(default_dir: Path) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="acq demo",
        description="Run a short session against the simulated beamline: scans, a tune, a "
        "grid, a temperature series, an area detector, a beam dump; stored in a catalog, "
        "shown in a live table and live plots, summarised and exported at the end.",
    )
    parser.add_argument("--prefix", default=PREFIX, help=f"PV prefix (default {PREFIX})")
    parser.add_argument(
        "--catalog",
        metavar="URI",
        default=os.environ.get(CATALOG_ENV),
        help=f"where runs go: sqlite:///path or mongodb://host/db (default: ${CATALOG_ENV}, "
        "else sqlite:///DATA_DIR/catalog.db)",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        type=Path,
        default=default_dir,
        help=f"images, exports and the default catalog (default {default_dir})",
    )
    parser.add_argument(
        "--plots-port",
        metavar="PORT",
        type=port_number,
        default=0,
        help="port of the live plots (default: any free port; the URL is printed)",
    )
    parser.add_argument(
        "--keep-plots",
        action="store_true",
        help="keep serving the live plots after the session, until Ctrl-C",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from storage.catalog import state_dir

    args = _parser(state_dir() / "demo").parse_args(argv)
    data_dir = args.data_dir.expanduser().absolute()
    catalog = args.catalog or f"sqlite:///{data_dir / 'catalog.db'}"
    (data_dir / "images").mkdir(parents=True, exist_ok=True)  # before any process starts

    from iocs.processes import (
        CAEnvironment,
        running,
        start_repeater,
        start_sim_ioc,
        wait_for_pvs,
    )

    from .session import DemoOptions, run_demo

    began = time.monotonic()
    env = CAEnvironment.allocate(n_servers=1)
    env.apply()  # before the first Channel Access call in this process
    logs = Path(tempfile.mkdtemp(prefix="acq-demo-"))
    port = env.server_ports[0]
    print(f"starting the simulated beamline on 127.0.0.1:{port} (logs in {logs}) ...", flush=True)
    with running(
        start_repeater(env, log=logs / "repeater.log"),
        start_sim_ioc(env, port, args.prefix, log=logs / "ioc.log"),
    ) as (_, ioc):
        wait_for_pvs([f"{args.prefix}m1.RBV", f"{args.prefix}scaler1.CNT"], process=ioc)
        options = DemoOptions(
            prefix=args.prefix,
            catalog=catalog,
            data_dir=data_dir,
            plots_port=args.plots_port,
            keep_plots=args.keep_plots,
        )
        status = asyncio.run(run_demo(options))
    if status:
        print("acq demo: interrupted; the simulated beamline has been stopped", file=sys.stderr)
        return status
    print(
        f"demo finished in {time.monotonic() - began:.0f} s; the simulated beamline has been "
        f"stopped. Browse the runs: acq runs --catalog {catalog}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
