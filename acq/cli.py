"""The ``acq`` command: everyday jobs from the shell.

Each subcommand lives in the package that owns the job; this module only dispatches,
importing lazily so ``acq --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# subcommand -> ("module" with a `main(argv) -> int`, or "module:function"; one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "iocs": ("iocs.__main__", "start the simulated beamline IOCs"),
    "demo": ("acq.demo", "run the demo session against the simulated beamline"),
    "runs": ("storage.cli:runs_main", "list runs in the catalog, newest first"),
    "show": ("storage.cli:show_main", "show one run: metadata, streams, first rows"),
    "export": ("storage.cli:export_main", "write a run as csv, jsonl, spec or nexus"),
    "serve": ("acq.service.cli:serve_main", "serve the engine and a plan queue over HTTP"),
    "queue": ("acq.service.cli:queue_main", "talk to a queue service: status, add, start, ..."),
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="acq", description="acq: everyday beamline jobs.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_, add_help=False)
    if not argv:
        parser.print_help()
        return 2
    if argv[0] not in SUBCOMMANDS:
        parser.parse_args(argv)  # exits: help for -h/--help (0), refusal otherwise (2)
        return 2
    module_name, _, function = SUBCOMMANDS[argv[0]][0].partition(":")
    module = importlib.import_module(module_name)
    return int(getattr(module, function or "main")(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
