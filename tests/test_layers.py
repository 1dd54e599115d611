"""The folders show the architecture: the engine never imports the packages built on it.

`acq` (the engine) sits below `devices`, `plans`, `storage`, `viz` and `iocs`; the
application (`acq.app`: the command and the demo) and the queue service (`acq.service`)
sit on top. Every import statement of the engine's modules is checked, including imports
inside functions, which a run-time check of ``sys.modules`` would miss.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ABOVE_THE_ENGINE = ("devices", "plans", "storage", "viz", "iocs", "acq.app", "acq.service")
# the console script's old address, a two-line shim that forwards to acq.app.cli
SHIMS = {"cli.py"}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            found.append((node.lineno, f"acq.{node.module}"))  # relative, from acq/*.py
    return found


def is_above(module: str) -> bool:
    return any(module == top or module.startswith(f"{top}.") for top in ABOVE_THE_ENGINE)


def engine_modules() -> list[Path]:
    return sorted(p for p in (ROOT / "acq").glob("*.py") if p.name not in SHIMS)


def test_the_engine_imports_nothing_built_on_it() -> None:
    offenders = [
        f"acq/{path.name}:{line} imports {module}"
        for path in engine_modules()
        for line, module in imported_modules(path)
        if is_above(module)
    ]
    assert not offenders, "the engine points back up:\n" + "\n".join(offenders)


@pytest.mark.parametrize("argv", [["--help"], ["--version"]])
def test_acq_help_loads_no_subcommand(argv: list[str]) -> None:
    """``acq --help`` stays instant: devices, plans, storage, viz, iocs stay unloaded."""
    code = (
        "import sys\n"
        "from acq.app import cli\n"
        "try:\n"
        f"    cli.main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    loaded = set(result.stderr.split())
    assert "acq" in loaded
    assert not loaded & {"devices", "plans", "storage", "viz", "iocs", "bokeh", "aioca"}
