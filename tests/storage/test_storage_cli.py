"""``acq runs``, ``acq show``, ``acq export`` as a user types them (subprocesses)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from storage_helpers import subscribe_writer

from acq import RunEngine
from devices.sim import SimDetector, SimMotor
from plans import count, scan
from storage import open_catalog
from storage.cli import error_text

ACQ = str(Path(sys.executable).parent / "acq")


def acq(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ACQ, *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


@pytest.fixture
async def catalog_with_runs(tmp_path: Path) -> tuple[str, list[str]]:
    uri = f"sqlite:///{tmp_path}/catalog.db"
    motor = SimMotor("m1")
    det = SimDetector("det", motor)
    RE = RunEngine(waiting_hook=None)
    async with await open_catalog(uri) as catalog:
        subscribe_writer(RE, catalog.writer)
        uids = (await RE(scan([det], motor, -1, 1, 5), sample="Si")).run_uids
        uids += (await RE(count([det], 3), sample="Ge")).run_uids
    return uri, uids


async def test_runs_lists_newest_first_as_a_table(catalog_with_runs) -> None:
    uri, uids = catalog_with_runs
    done = acq("runs", "--catalog", uri)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["scan", "uid", "start", "plan", "status", "events"]
    assert uids[1][:8] in lines[1] and "count" in lines[1] and "success" in lines[1]
    assert uids[0][:8] in lines[2] and "scan" in lines[2] and lines[2].rstrip().endswith("5")


async def test_runs_search_and_environment_catalog(catalog_with_runs, monkeypatch) -> None:
    uri, uids = catalog_with_runs
    env = {**os.environ, "ACQ_CATALOG": uri}
    done = acq("runs", "sample=Si", env=env)
    assert done.returncode == 0, done.stderr
    assert uids[0][:8] in done.stdout and uids[1][:8] not in done.stdout
    done = acq("runs", "--search", "Ge", "--limit", "1", env=env)
    assert uids[1][:8] in done.stdout and uids[0][:8] not in done.stdout


async def test_show_prints_metadata_and_the_stream(catalog_with_runs) -> None:
    uri, uids = catalog_with_runs
    done = acq("show", uids[0][:8], "--catalog", uri)
    assert done.returncode == 0, done.stderr
    assert f"run {uids[0]}" in done.stdout
    assert "sample = 'Si'" in done.stdout
    assert "stream 'primary': 5 events" in done.stdout
    assert "-0.5" in done.stdout  # a motor position in the table


async def test_export_jsonl_writes_the_document_stream(catalog_with_runs, tmp_path) -> None:
    uri, _ = catalog_with_runs
    done = acq("export", "-1", "--format", "jsonl", "-o", str(tmp_path / "out"), "--catalog", uri)
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip())
    names = [json.loads(line)[0] for line in path.read_text().splitlines()]
    assert names[0] == "start" and names[-1] == "stop" and names.count("event") == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["runs"], "no catalog: pass --catalog URI or set ACQ_CATALOG"),
        (["show", "nosuchrun", "--catalog", "{uri}"], "no run whose uid starts with"),
        (["show", "99", "--catalog", "{uri}"], "no run with scan_id 99"),
        (["runs", "--catalog", "sqlite:///{tmp}/missing.db"], "there is no catalog at"),
        (["runs", "--catalog", "mongodb://127.0.0.1:1/acq"], "no MongoDB server answered"),
    ],
)
async def test_errors_are_one_line_and_exit_non_zero(
    catalog_with_runs, tmp_path, monkeypatch, args, message
) -> None:
    uri, _ = catalog_with_runs
    env = {k: v for k, v in os.environ.items() if k != "ACQ_CATALOG"}
    done = acq(*(a.format(uri=uri, tmp=tmp_path) for a in args), env=env)
    assert done.returncode != 0
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


@contextmanager
def proxy_that_drops_finds(target_port: int) -> Iterator[int]:
    """A loopback proxy to a Mongo server that passes every request but ``find``, which
    it drops: the server never answers one (a hung server after the catalog opened)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    done = threading.Event()
    sockets: list[socket.socket] = [listener]

    def pump(source: socket.socket, sink: socket.socket, drop_finds: bool) -> None:
        try:
            while data := source.recv(65536):
                if not (drop_finds and b"\x02find\x00" in data):
                    sink.sendall(data)
        except OSError:
            pass  # closed at the end of the test

    def accept() -> None:
        while not done.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            server = socket.create_connection(("127.0.0.1", target_port), timeout=5)
            server.settimeout(None)
            sockets.extend((client, server))
            for args in ((client, server, True), (server, client, False)):
                threading.Thread(target=pump, args=args, daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        done.set()
        thread.join(5)
        for sock in sockets:
            sock.close()


async def test_a_server_that_stops_answering_is_one_named_line_within_timeout(
    mongo_uri: str,
) -> None:
    base, _, db = mongo_uri.rpartition("/")
    host, _, port = base.removeprefix("mongodb://").rpartition(":")
    if host != "127.0.0.1":
        pytest.skip("the proxy forwards to a server on 127.0.0.1 only")
    async with await open_catalog(mongo_uri, timeout=10) as catalog:
        await catalog.writer("start", {"uid": "hung-run-1", "time": 1.0, "scan_id": 1})
    with proxy_that_drops_finds(int(port)) as proxy_port:
        uri = f"mongodb://127.0.0.1:{proxy_port}/{db}"
        done = acq("show", "-1", "--catalog", uri, "--timeout", "1")
    assert done.returncode != 0
    line = done.stderr.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line, done.stderr
    assert f"127.0.0.1:{proxy_port}" in line and "did not answer" in line, line
    assert "within 1.0 s" in line, line


def test_an_error_without_a_message_is_named_by_its_type() -> None:
    assert error_text(TimeoutError()) == "TimeoutError"
    assert error_text(ValueError("first\nsecond")) == "first; second"


REPO = Path(__file__).resolve().parents[2]
#: `acq runs` as user nobody: imports first (the checkout may not be readable to nobody),
#: then the privileges are dropped, then the command runs.
AS_NOBODY = """
import os, sys
import anyio._backends._asyncio, pymongo, storage.catalog, storage.cli, storage.mongo
import storage.run, storage.sqlite
os.setgid(65534)
os.setuid(65534)
sys.exit(storage.cli.runs_main(["--catalog", "sqlite:///" + sys.argv[1]]))
"""


def acq_runs_where_the_directory_is_read_only(directory: Path) -> subprocess.CompletedProcess[str]:
    """`acq runs` on ``directory/catalog.db`` by a user who may not write `directory`:
    as root (which may write anywhere), the command runs as nobody."""
    for path in directory.iterdir():
        path.chmod(0o444)
    directory.chmod(0o555)
    try:
        if os.geteuid() != 0:
            return acq("runs", "--catalog", f"sqlite:///{directory}/catalog.db")
        done = subprocess.run(
            [sys.executable, "-c", AS_NOBODY, str(directory / "catalog.db")],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
            check=False,
        )
        if "PermissionError" in done.stderr and "setuid" in done.stderr:
            pytest.skip("running as root without the right to become nobody")
        return done
    finally:
        directory.chmod(0o755)


@pytest.fixture
def world_readable_dir() -> Iterator[Path]:
    """A directory nobody can reach (pytest's tmp_path is private to its user)."""
    path = Path(tempfile.mkdtemp(prefix="acq-ro-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        path.chmod(0o755)
        shutil.rmtree(path)


async def test_runs_reads_a_catalog_in_a_read_only_directory(
    catalog_with_runs, world_readable_dir: Path
) -> None:
    uri, uids = catalog_with_runs
    shutil.copy(uri.removeprefix("sqlite:///"), world_readable_dir / "catalog.db")
    done = acq_runs_where_the_directory_is_read_only(world_readable_dir)
    assert done.returncode == 0, done.stderr
    assert uids[0][:8] in done.stdout and uids[1][:8] in done.stdout
    assert sorted(p.name for p in world_readable_dir.iterdir()) == ["catalog.db"]


async def test_a_catalog_being_written_in_a_read_only_directory_is_one_clear_error(
    tmp_path: Path, world_readable_dir: Path
) -> None:
    async with await open_catalog(tmp_path / "catalog.db") as catalog:
        await catalog.writer("start", {"uid": "wal-run-1", "time": 1.0, "scan_id": 1})
        await catalog.writer.flush(timeout=30)
        for name in ("catalog.db", "catalog.db-wal"):  # as a writer leaves them, without -shm
            shutil.copy(tmp_path / name, world_readable_dir / name)
    done = acq_runs_where_the_directory_is_read_only(world_readable_dir)
    assert done.returncode != 0
    line = done.stderr.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line, done.stderr
    assert "catalog.db-wal" in line and "may not write" in line, line
    assert "mode=ro" not in line, line


async def test_key_value_finds_text_numbers_and_booleans_as_typed(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/catalog.db"
    md = {"proposal": "2024123", "sample": "007", "calibrated": True, "energy": 8.5}
    async with await open_catalog(uri) as catalog:
        for uid, extra in (("typed-1", md), ("typed-2", {"proposal": 2024124, "flag": None})):
            await catalog.writer("start", {"uid": uid, "time": 1.0, "scan_id": 1, **extra})
        await catalog.writer.flush(timeout=30)
    for where in ("proposal=2024123", "sample=007", "calibrated=true", "energy=8.5"):
        done = acq("runs", "--catalog", uri, where)
        assert done.returncode == 0, done.stderr
        assert "typed-1" in done.stdout and "typed-2" not in done.stdout, where
    for where in ("proposal=2024124", "flag=null"):
        done = acq("runs", "--catalog", uri, where)
        assert "typed-2" in done.stdout and "typed-1" not in done.stdout, where
    done = acq("runs", "--catalog", uri, "sample=7.5")
    assert done.returncode == 0 and done.stdout == "" and "no runs match" in done.stderr
