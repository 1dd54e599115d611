"""docs/notebooks/first-scan.ipynb, executed cell by cell in a real Jupyter kernel against
the simulated beamline: the scan succeeds, the run reads back from the catalog and the
peak is where the simulated Gaussian is. The notebook is stored without outputs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "notebooks" / "first-scan.ipynb"


def printed(cell: Any) -> str:
    return "".join(
        o.get("text", "") for o in cell.get("outputs", ()) if o.get("output_type") == "stream"
    )


def test_the_stored_notebook_has_no_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code
    assert all(c.outputs == [] and c.execution_count is None for c in code)


def test_the_first_scan_notebook_runs_against_the_simulated_beamline(
    sim_ioc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the kernel inherits the CA environment tests/conftest.py exported at import time
    monkeypatch.setenv("ACQ_SIM_PREFIX", sim_ioc.prefix)
    monkeypatch.setenv("ACQ_CATALOG", f"sqlite:///{tmp_path}/catalog.db")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        startup_timeout=60,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT)}},
    )
    client.execute()  # raises CellExecutionError naming the cell and the error

    code = [c for c in notebook.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors
    text = "\n".join(printed(c) for c in code)

    assert re.search(r"^success [0-9a-f-]{36}$", text, re.M), text
    assert re.search(r"^21 points of scan \d+ read back from the catalog$", text, re.M), text
    peak = re.search(r"^peak centre (\S+) mm, FWHM (\S+) mm", text, re.M)
    assert peak, text
    centre, fwhm = float(peak[1]), float(peak[2])
    assert abs(centre) < 0.2  # the simulated Gaussian is centred at 0 mm
    assert 0.9 < fwhm < 1.5  # sigma 0.5 mm: FWHM 1.18 mm, sampled every 0.2 mm

    shown = [
        o.data.get("text/html", "")
        for c in code
        for o in c.outputs
        if o.output_type in ("display_data", "execute_result")
    ]
    assert any("<iframe" in html and "127.0.0.1:" in html for html in shown)  # live plots
    assert any(
        "application/vnd.bokehjs_exec.v0+json" in o.get("data", {}) for c in code for o in c.outputs
    )
