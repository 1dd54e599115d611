"""``acq runs``, ``acq show RUN``, ``acq export RUN``: the catalog from the shell.

The catalog is ``--catalog URI`` or ``$ACQ_CATALOG`` (``sqlite:///path`` or
``mongodb://host/db``), opened read-only: browsing never competes with an acquisition
for the journal. Errors are one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from .backend import AnyOf
from .catalog import Catalog, open_catalog
from .errors import StorageError
from .run import Run

__all__ = ["export_main", "runs_main", "show_main"]

CATALOG_ENV = "ACQ_CATALOG"
FORMATS = ("csv", "jsonl", "spec", "nexus")


class CLIError(Exception):
    """A problem with the command line itself (no catalog given, bad KEY=VALUE...)."""


def _catalog_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--catalog",
        metavar="URI",
        default=os.environ.get(CATALOG_ENV),
        help=f"sqlite:///path or mongodb://host/db (default: ${CATALOG_ENV})",
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=None,
        help="give up when the catalog does not answer for this long "
        "(default: 5 s to connect, 60 s for a read)",
    )


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def _value(text: str) -> Any:
    """What ``KEY=VALUE`` searches for: the text itself, or what else it reads as, a
    number (``2024123``, ``8.5``), ``true``/``false``, ``null``, a JSON list or dict. A
    shell gives only text, and metadata holds proposal ids and sample names as text
    (``"2024123"``, ``"007"``) as often as numbers."""
    values: list[Any] = [text]
    try:
        values.append(int(text))
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            if math.isfinite(number):  # not "nan", "inf"
                values.append(number)
    if text.lower() in ("true", "false"):
        values.append(text.lower() == "true")
    elif text.lower() in ("null", "none"):
        values.append(None)
    elif text[:1] in ("[", "{"):
        try:
            values.append(json.loads(text))
        except ValueError:
            pass
    return AnyOf(values) if len(values) > 1 else text


def error_text(exc: BaseException) -> str:
    """What an error says, on one line; never empty (a bare ``TimeoutError()`` says its
    name)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return "; ".join(lines) or type(exc).__name__


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _events(run: Run) -> str:
    counts = (run.stop or {}).get("num_events") or {}
    return str(sum(counts.values())) if counts else "-"


async def _with_catalog(args: argparse.Namespace, job: Callable[[Catalog], Awaitable[int]]) -> int:
    if not args.catalog:
        raise CLIError(f"no catalog: pass --catalog URI or set {CATALOG_ENV}")
    timeouts = {}
    if args.timeout is not None:
        if not args.timeout > 0:
            raise CLIError(f"--timeout needs a number of seconds > 0, not {args.timeout}")
        timeouts = {"timeout": args.timeout, "read_timeout": args.timeout}
    catalog = await open_catalog(args.catalog, read_only=True, **timeouts)
    try:
        return await job(catalog)
    finally:
        await catalog.close()


def _main(
    prog: str,
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    job: Callable[[argparse.Namespace], Coroutine[Any, Any, int]],
) -> int:
    args = parser.parse_args(argv)
    try:
        return asyncio.run(job(args))
    except (StorageError, CLIError, OSError, ValueError) as exc:
        print(f"{prog}: error: {error_text(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


# -- acq runs ----------------------------------------------------------------------------


def runs_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="acq runs",
        description="List runs in the catalog, newest first.",
        epilog="KEY=VALUE finds runs whose start document holds VALUE at KEY: as text, or "
        "as the number, true/false, null or JSON list/dict it reads as (proposal=2024123 "
        "finds the text '2024123' and the number; calibrated=true finds true), or as an "
        "item of a stored list (detectors=det). KEY may name a nested key: md.sample=Si. "
        "--search words must all appear in the metadata values (case-insensitive, parts "
        "of words too; a MongoDB server with a text index matches whole words instead).",
    )
    _catalog_option(parser)
    parser.add_argument("--search", metavar="TEXT", help="words that appear in the metadata values")
    parser.add_argument("--plan", metavar="NAME", help="only runs of this plan")
    parser.add_argument("--since", metavar="WHEN", help="ISO date/time or epoch seconds")
    parser.add_argument("--until", metavar="WHEN", help="ISO date/time or epoch seconds")
    parser.add_argument("--limit", type=int, default=20, help="at most N runs (default 20)")
    parser.add_argument("--offset", type=int, default=0, help="skip the N newest matches")
    parser.add_argument(
        "where", nargs="*", metavar="KEY=VALUE", help="metadata matches (see below)"
    )

    def when(text: str | None) -> float | str | None:
        """Epoch seconds stay numbers; anything else goes to datetime.fromisoformat."""
        if text is None:
            return None
        try:
            return float(text)
        except ValueError:
            return text

    async def job(args: argparse.Namespace) -> int:
        metadata = {}
        for item in args.where:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise CLIError(f"{item!r} is not KEY=VALUE")
            metadata[key] = _value(value)

        async def list_runs(catalog: Catalog) -> int:
            runs = await catalog.search(
                args.search,
                plan_name=args.plan,
                since=when(args.since),
                until=when(args.until),
                limit=args.limit,
                offset=args.offset,
                **metadata,
            )
            if not runs:
                print("no runs match", file=sys.stderr)
                return 0
            rows = [["scan", "uid", "start", "plan", "status", "events"]]
            for run in runs:
                rows.append(
                    [
                        str(run.scan_id if run.scan_id is not None else "-"),
                        run.uid[:8],
                        _when(run.start.get("time")),
                        str(run.start.get("plan_name", "-")),
                        str((run.stop or {}).get("exit_status", "running?")),
                        _events(run),
                    ]
                )
            print(_table(rows))
            return 0

        return await _with_catalog(args, list_runs)

    return _main("acq runs", parser, argv, job)


# -- acq show ----------------------------------------------------------------------------

_SKIP_START = {"uid", "time", "scan_id", "plan_name", "hints", "versions"}


def show_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="acq show", description="Show one run: metadata, streams, the first rows."
    )
    _catalog_option(parser)
    parser.add_argument("run", metavar="RUN", help="uid, partial uid, scan_id or -1")
    parser.add_argument("--rows", type=int, default=20, help="rows of each stream to show")

    async def job(args: argparse.Namespace) -> int:
        async def show(catalog: Catalog) -> int:
            run = await catalog.run(args.run)
            stop = run.stop or {}
            print(f"run {run.uid}  scan {run.scan_id}  plan {run.start.get('plan_name', '-')}")
            print(f"  started  {_when(run.start.get('time'))}")
            print(
                f"  stopped  {_when(stop.get('time'))}  {stop.get('exit_status', 'no stop')}"
                + (f": {stop['reason']}" if stop.get("reason") else "")
            )
            for key, value in sorted(run.start.items()):
                if key not in _SKIP_START:
                    print(f"  {key} = {value!r}")
            for stream in await run.streams():
                table = await run.table(stream, fill=False)
                n = len(table["seq_num"])
                print(f"\nstream {stream!r}: {n} events")
                keys = [k for k in table if k != "time"]
                rows = [keys] + [
                    [_cell(table[k][i]) for k in keys] for i in range(min(n, args.rows))
                ]
                print(_table(rows))
                if n > args.rows:
                    print(f"... {n - args.rows} more")
            return 0

        return await _with_catalog(args, show)

    return _main("acq show", parser, argv, job)


def _cell(value: Any) -> str:
    if hasattr(value, "shape") and getattr(value, "shape", ()) != ():
        return f"<array {'x'.join(map(str, value.shape))}>"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value.item() if hasattr(value, "item") else value)


# -- acq export --------------------------------------------------------------------------


def export_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="acq export", description="Write one run to files (CSV, JSON Lines, SPEC, NeXus)."
    )
    _catalog_option(parser)
    parser.add_argument("run", metavar="RUN", help="uid, partial uid, scan_id or -1")
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("-o", "--output", metavar="DIR", default=".", help="default: here")

    async def job(args: argparse.Namespace) -> int:
        try:
            from . import export
        except ImportError as exc:
            raise CLIError(
                f"the exporters (storage.export) are not available in this install: {exc}"
            ) from exc

        async def write(catalog: Catalog) -> int:
            run = await catalog.run(args.run)
            documents = await run.documents()
            out = Path(args.output).expanduser()
            out.mkdir(parents=True, exist_ok=True)
            stem = f"scan{run.scan_id}_{run.uid[:8]}"
            written: list[Path]
            if args.format == "csv":
                written = list(export.export_csv(documents, out))
            elif args.format == "jsonl":
                written = [export.export_jsonl(documents, out / f"{stem}.jsonl")]
            elif args.format == "spec":
                written = [export.export_spec(documents, out / "acq.spec")]
            else:
                written = [export.export_nexus(documents, out / f"{stem}.nxs")]
            for path in written:
                print(path)
            return 0

        return await _with_catalog(args, write)

    return _main("acq export", parser, argv, job)
