"""``acq plots``: the live-plot page for runs that are already recorded.

The same `viz.LivePlots` page that watches a scan live also draws a finished one: this
command replays the run's documents into it, in emission order, from a JSON Lines file
(``acq export --format jsonl``, suitcase-jsonl's layout) or from a catalog, and serves
the page until Ctrl-C. Several runs may be given; the page's run selector lists them.

    acq plots scan42.jsonl
    acq plots --catalog sqlite:///~/acq-data/catalog.db -1 -2 --port 5007
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .args import port_number
from .errors import CommandError

CATALOG_ENV = "ACQ_CATALOG"

Documents = Iterable[tuple[str, dict[str, Any]]]


class PlotsError(CommandError):
    """What the user asked for cannot be shown (no such file, no catalog...)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="acq plots",
        description="Serve live plots of recorded runs until Ctrl-C: a JSON Lines document "
        "file, or runs of a catalog (uid, partial uid, scan_id, -1 for the latest).",
    )
    parser.add_argument(
        "sources", nargs="+", metavar="FILE.jsonl|RUN", help="document files or catalog runs"
    )
    parser.add_argument(
        "--catalog",
        metavar="URI",
        default=os.environ.get(CATALOG_ENV),
        help=f"sqlite:///path or mongodb://host/db, for RUN (default: ${CATALOG_ENV})",
    )
    parser.add_argument(
        "--port",
        type=port_number,
        default=5006,
        help="port of the page (default 5006; 0: any free)",
    )
    parser.add_argument(
        "--address", default="127.0.0.1", help="interface to serve on (default 127.0.0.1)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    files = [s for s in args.sources if _is_file_argument(s)]
    runs = [s for s in args.sources if s not in files]
    if runs and not args.catalog:
        raise PlotsError(
            f"{runs[0]!r} is not a file; to show a run of a catalog pass --catalog URI "
            f"or set {CATALOG_ENV}"
        )
    for name in files:
        if not Path(name).expanduser().is_file():
            raise PlotsError(f"no such file: {name}")
    return asyncio.run(_serve(args, files, runs))


def _is_file_argument(source: str) -> bool:
    return source.endswith((".jsonl", ".json")) or "/" in source or Path(source).is_file()


def start_plots(port: int, address: str = "127.0.0.1", *, option: str) -> Any:
    """`viz.LivePlots` serving now; a taken port is a `CommandError` naming `option`."""
    from viz import LivePlots, PlotServerError

    try:
        return LivePlots(port=port, address=address)
    except PlotServerError as error:
        if "already in use" not in str(error):
            raise
        raise CommandError(
            f"live plots cannot start: port {port} on {address} is already in use; "
            f"choose another {option} (0: any free port)"
        ) from None


async def _serve(args: argparse.Namespace, files: list[str], runs: list[str]) -> int:
    # everything is read before the page serves, so a bad RUN or file costs no server
    streams = [await _read_file(Path(name).expanduser()) for name in files]
    if runs:
        streams += await _read_runs(args.catalog, runs)
    plots = start_plots(args.port, args.address, option="--port")
    try:
        labels = [label for documents in streams for label in _feed(plots, documents)]
        print(f"showing {len(labels)} run(s): {', '.join(labels)}", flush=True)
        print("serving until Ctrl-C", flush=True)
        await _until_interrupted()
    finally:
        await plots.close()
    return 0


async def _read_file(path: Path) -> list[tuple[str, dict[str, Any]]]:
    from storage.export import import_jsonl

    documents = await asyncio.to_thread(lambda: list(import_jsonl(path)))
    if not any(name == "start" for name, _ in documents):
        raise PlotsError(f"{path} holds no run (no 'start' document)")
    return documents


async def _read_runs(uri: str, keys: list[str]) -> list[list[tuple[str, dict[str, Any]]]]:
    from storage import open_catalog

    catalog = await open_catalog(uri, read_only=True)
    try:
        return [await (await catalog.run(key)).documents() for key in keys]
    finally:
        await catalog.close()


def _feed(plots: Any, documents: Documents) -> list[str]:
    """Hand the documents to the plots; a label per run started."""
    labels = []
    for name, doc in documents:
        plots(name, doc)
        if name == "start":
            labels.append(f"scan {doc.get('scan_id', '?')} ({doc.get('plan_name', 'run')})")
    return labels


async def _until_interrupted() -> None:
    """Wait for SIGINT (Ctrl-C) or SIGTERM; both end the command normally."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


if __name__ == "__main__":
    sys.exit(main())
