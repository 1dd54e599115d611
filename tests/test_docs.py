"""The documentation site builds with `mkdocs build --strict` (a broken link, a page
missing from the nav or a docstring mkdocstrings cannot parse is an error), the API pages
are generated from the docstrings, and the README's links lead somewhere."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings")

ROOT = Path(__file__).resolve().parents[1]


def test_the_site_builds_strictly_with_the_api_reference(tmp_path: Path) -> None:
    site = tmp_path / "site"
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", "mkdocs.yml", "-d", site],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-4000:]
    assert "first scan" in (site / "index.html").read_text().lower()
    for page, name in [
        ("acq", "RunEngine"),
        ("devices", "connect"),
        ("plans", "grid_scan"),
        ("storage", "open_catalog"),
        ("viz", "LivePlots"),
    ]:
        html = (site / "reference" / "api" / page / "index.html").read_text()
        assert f'id="{page}.{name}"' in html, f"{name} missing from the {page} API page"


def test_every_relative_link_in_the_readme_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [t for t in targets if "://" not in t]
    assert local
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, f"README links to missing files: {missing}"
