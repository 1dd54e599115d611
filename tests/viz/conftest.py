"""Live-plot test peers: a headless chromium (installed when missing), a RunEngine, and
LivePlots on a free port, closed after each test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from browser import Browser, ensure_chromium

from acq import RunEngine
from viz import LivePlots

DOC_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


@pytest.fixture(scope="session")
def chromium() -> str:
    return ensure_chromium()


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go (printed in the test output); ACQ_DOC_IMAGES=1 also refreshes
    the ones in docs/images/."""
    return tmp_path_factory.mktemp("viz-screenshots")


@pytest.fixture
def doc_image() -> Callable[[Path, str], None]:
    def copy(png: Path, name: str) -> None:
        if os.environ.get("ACQ_DOC_IMAGES") == "1":
            DOC_IMAGES.mkdir(parents=True, exist_ok=True)
            (DOC_IMAGES / name).write_bytes(png.read_bytes())

    return copy


@pytest.fixture
async def browsers(chromium: str, tmp_path: Path) -> AsyncIterator[Callable]:
    """``await browsers(url)``: a new headless chromium showing `url`; all closed after."""
    started: list[Browser] = []

    async def open_page(url: str) -> Browser:
        browser = Browser(chromium, tmp_path / f"chromium-{len(started)}")
        started.append(browser)
        await browser.start(url)
        return browser

    yield open_page
    for browser in started:
        await browser.close()


@pytest.fixture
async def RE(tmp_path: Path) -> AsyncIterator[RunEngine]:
    engine = RunEngine(state_dir=str(tmp_path), waiting_hook=None, handle_sigint=False)
    yield engine
    await engine.flush()


@pytest.fixture
async def plots() -> AsyncIterator[LivePlots]:
    live = LivePlots(port=0, announce=None)
    yield live
    await live.close()
