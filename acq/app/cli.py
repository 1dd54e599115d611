"""The ``acq`` command: everyday jobs from the shell.

Each subcommand lives in the module that owns the job; this one only dispatches,
importing lazily so ``acq --help`` stays instant. Whatever a subcommand raises becomes
one line on stderr and a non-zero exit status (``ACQ_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from .errors import CommandError

DEBUG_ENV = "ACQ_DEBUG"

# subcommand -> ("module" with a `main(argv) -> int`, or "module:function"; one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "iocs": ("iocs.__main__", "start the simulated beamline IOCs"),
    "demo": ("acq.app.demo", "run the demo session against the simulated beamline"),
    "runs": ("storage.cli:runs_main", "list runs in the catalog, newest first"),
    "show": ("storage.cli:show_main", "show one run: metadata, streams, first rows"),
    "export": ("storage.cli:export_main", "write a run as csv, jsonl, spec or nexus"),
    "plots": ("acq.app.plots", "serve live plots of a saved run (JSON Lines file or catalog)"),
    "serve": ("acq.service.cli:serve_main", "serve the engine and a plan queue over HTTP"),
    "queue": ("acq.service.cli:queue_main", "talk to a queue service: status, add, start, ..."),
}


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("acq")
    except PackageNotFoundError:
        return "unknown (not installed; run `make venv`)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="acq",
        description="acq: asyncio-native data acquisition. Everyday beamline jobs.",
        epilog="`acq COMMAND --help` describes each command. Start with `acq demo`. Errors "
        f"are one line; {DEBUG_ENV}=1 shows the traceback.",
    )
    parser.add_argument("--version", action="version", version=f"acq {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in SUBCOMMANDS:
        parser = _parser()
        if not argv:
            parser.print_help()
            return 2
        parser.parse_args(argv)  # exits: help/version (0), refusal otherwise (2)
        return 2
    name = argv[0]
    module_name, _, function = SUBCOMMANDS[name][0].partition(":")
    try:
        module = importlib.import_module(module_name)
        return int(getattr(module, function or "main")(argv[1:]) or 0)
    except KeyboardInterrupt:
        print(f"acq {name}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if os.environ.get(DEBUG_ENV):
            raise
        print(f"acq {name}: error: {one_line(error)}", file=sys.stderr)
        return 1


def one_line(error: BaseException) -> str:
    """``Type: message`` on one line (the first line of a multi-line message)."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]  # a task group's wrapper says nothing of its own
    text = str(error).strip().splitlines()
    message = text[0] if text else "(no message)"
    kind = type(error).__name__
    if isinstance(error, CommandError) or message.startswith(kind):
        return message
    return f"{kind}: {message}"


if __name__ == "__main__":
    sys.exit(main())
