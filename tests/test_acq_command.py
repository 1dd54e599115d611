"""The commands a newcomer types first: ``acq --help``, ``acq iocs``, ``acq plots``, and the
errors every subcommand gives (one line, no traceback). ``acq demo``: tests/test_demo.py.

They run as subprocesses, exactly as from a shell, each choosing its own private ports.
"""

from __future__ import annotations

import importlib.metadata
import os
import socket
import subprocess
import sys

import pytest

from iocs.processes import CAEnvironment, free_port

SUBCOMMANDS = ("iocs", "demo", "runs", "show", "export", "plots", "serve", "queue")


def clean_env() -> dict[str, str]:
    """A clean CA environment: commands pick their own ports, like on a user's machine."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("EPICS_", "ACQ_CATALOG"))}


def acq(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "acq.cli", *args],
        env=clean_env(),
        text=True,
        capture_output=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_help_lists_every_subcommand() -> None:
    result = acq("--help")
    assert result.returncode == 0
    listed = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("    ")]
    assert listed == list(SUBCOMMANDS)


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_each_subcommand_has_help(command: str) -> None:
    result = acq(command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: acq {command}")


def test_version_is_the_installed_one() -> None:
    result = acq("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"acq {importlib.metadata.version('acq')}"


def test_unknown_subcommand_is_refused() -> None:
    result = acq("frobnicate")
    assert result.returncode == 2
    assert "invalid choice: 'frobnicate'" in result.stderr


def test_no_subcommand_shows_the_help() -> None:
    result = acq()
    assert result.returncode == 2
    assert "demo" in result.stdout and "COMMAND" in result.stdout


def test_iocs_lists_its_pvs() -> None:
    result = acq("iocs", "--prefix", "xx:", "--list-pvs")
    assert result.returncode == 0, result.stderr
    pvs = set(result.stdout.split())
    assert {"xx:m1", "xx:m1.RBV", "xx:scaler1.CNT", "xx:ring:current"} <= pvs


def test_ca_environment_lists_every_ioc_port() -> None:
    env = CAEnvironment.allocate(n_servers=3)
    assert len(set(env.server_ports)) == 3 and env.repeater_port not in env.server_ports
    client = env.client_env()
    assert client["EPICS_CA_AUTO_ADDR_LIST"] == "NO"
    assert client["EPICS_CA_ADDR_LIST"].split() == [f"127.0.0.1:{p}" for p in env.server_ports]
    server = env.server_env(env.server_ports[1])
    assert server["EPICS_CA_SERVER_PORT"] == str(env.server_ports[1])


def test_free_port_is_free_for_tcp_and_udp() -> None:
    port = free_port()
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", port))


def test_iocs_refuses_a_port_another_ioc_serves(sim_ioc) -> None:
    result = acq("iocs", "--prefix", "other:", "--port", str(sim_ioc.port), timeout=60)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"acq iocs: port {sim_ioc.port} is already in use (UDP+TCP on 127.0.0.1), probably by "
        f"another IOC; stop it or choose another --port"
    ]
    assert "serving" not in result.stdout


@pytest.mark.parametrize("kind", ["UDP", "TCP"])
def test_iocs_refuses_a_port_taken_for_udp_or_tcp_alone(kind: str) -> None:
    port = free_port()
    with socket.socket(
        socket.AF_INET, socket.SOCK_DGRAM if kind == "UDP" else socket.SOCK_STREAM
    ) as holder:
        # what a CA server does: SO_REUSEADDR, which would let a second server bind too
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", port))
        if kind == "TCP":
            holder.listen()
        result = acq("iocs", "--port", str(port), timeout=60)

    assert result.returncode == 1
    assert f"port {port} is already in use ({kind} on 127.0.0.1)" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_iocs_usage_names_the_acq_command() -> None:
    result = acq("iocs", "--port", "abc")

    assert result.returncode == 2
    assert result.stderr.startswith("usage: acq iocs ")
    assert "acq iocs: error: argument --port: 'abc' is not a port number" in result.stderr
    assert "python -m iocs" not in result.stderr


# -- one line per error ------------------------------------------------------------------


@pytest.fixture
def bad_jsonl(tmp_path) -> str:
    path = tmp_path / "broken.jsonl"
    path.write_text('["start", {"uid": "x", "time": 0}]\nnot json\n')
    return str(path)


@pytest.mark.parametrize(
    "args, says",
    [
        (["runs"], "no catalog: pass --catalog URI or set ACQ_CATALOG"),
        (["show", "--catalog", "sqlite:///{tmp}/none.db?mode=ro", "-1"], "none.db"),
        (["plots", "12"], "'12' is not a file; to show a run of a catalog pass --catalog"),
        (["plots", "{tmp}/missing.jsonl"], "no such file: "),
        (["plots", "{bad}"], "broken.jsonl:2 is not a [name, document] JSON line"),
        (["plots", "--catalog", "sqlite:///{tmp}/none.db", "-1"], "none.db"),
        (["demo", "--data-dir", "{bad}/data"], "Not a directory"),  # before the IOC starts
    ],
)
def test_errors_are_one_line_without_traceback(args, says, tmp_path, bad_jsonl) -> None:
    argv = [a.format(tmp=tmp_path, bad=bad_jsonl) for a in args]
    result = acq(*argv, timeout=60)

    assert result.returncode == 1, result.stdout + result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"acq {argv[0]}: error: ")
    assert says in result.stderr
    assert "Live plots" not in result.stdout  # nothing is served for a bad request


# -- acq plots ---------------------------------------------------------------------------


@pytest.fixture
async def recorded_scan(tmp_path):
    """A 7-point scan of simulated devices, in a catalog and as a JSON Lines file."""
    from acq import RunEngine
    from devices.sim import SimDetector, SimMotor
    from plans import scan
    from storage import open_catalog
    from storage.export import export_jsonl

    uri = f"sqlite:///{tmp_path}/catalog.db"
    motor = SimMotor("m1", velocity=100.0)
    det = SimDetector("det", motor)
    documents: list = []
    RE = RunEngine(waiting_hook=None)
    RE.subscribe(lambda name, doc: documents.append((name, doc)))
    async with await open_catalog(uri) as catalog:
        RE.subscribe(catalog.writer, critical=True)
        await RE(scan([det], motor, -1.5, 1.5, 7))
        await RE.flush()
    path = export_jsonl(documents, tmp_path / "scan.jsonl")
    events = [doc for name, doc in documents if name == "event"]
    return {"uri": uri, "file": str(path), "m1": [e["data"]["m1"] for e in events]}


def served_points(url: str) -> dict[str, list]:
    """The page's data as a browser session gets it (bokeh's client protocol)."""
    from bokeh.client import pull_session

    with pull_session(url=url) as session:
        (points,) = session.document.select({"name": "points"})
        return {key: list(values) for key, values in points.data.items()}


def serve_plots(*args: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    """Start ``acq plots``; its process, URL and the lines it printed up to serving."""
    process = subprocess.Popen(
        [sys.executable, "-m", "acq.cli", "plots", "--port", "0", *args],
        env=clean_env(),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:  # ends at EOF if the command fails; the test's timeout bounds it
        lines.append(line.rstrip())
        if line.startswith("serving until Ctrl-C"):
            break
    url = next((ln.split()[-1] for ln in lines if ln.startswith("Live plots: ")), "")
    if not url:
        process.kill()
        _, err = process.communicate(timeout=10)
        raise AssertionError(f"acq plots did not serve: {lines} {err}")
    return process, url, lines


def stop_with_ctrl_c(process: subprocess.Popen[str]) -> int:
    import signal

    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.parametrize("source", ["file", "catalog"])
def test_plots_serves_a_recorded_run_until_ctrl_c(source: str, recorded_scan) -> None:
    if source == "file":
        args = [recorded_scan["file"]]
    else:
        args = ["--catalog", recorded_scan["uri"], "-1"]
    process, url, lines = serve_plots(*args)
    try:
        assert url.startswith("http://127.0.0.1:")
        assert any(line.startswith("showing 1 run(s): scan ") for line in lines), lines
        points = served_points(url)
        assert points["m1"] == pytest.approx(recorded_scan["m1"])
        assert len(points["det"]) == 7
    finally:
        status = stop_with_ctrl_c(process)
    assert status == 0, process.stderr.read() if process.stderr else ""


def test_plots_on_a_taken_port_is_one_line(recorded_scan) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = acq("plots", recorded_scan["file"], "--port", str(port), timeout=60)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"acq plots: error: live plots cannot start: port {port} on 127.0.0.1 is already in "
        "use; choose another --port (0: any free port)"
    ]


# -- the pure parts ----------------------------------------------------------------------


def test_a_task_groups_single_error_is_shown_as_itself() -> None:
    from acq.app.cli import one_line
    from acq.app.errors import CommandError

    group = ExceptionGroup("unhandled errors in a TaskGroup", [TimeoutError("no beam\nmore")])
    assert one_line(group) == "TimeoutError: no beam"
    assert one_line(CommandError("choose another --port")) == "choose another --port"


def test_the_demo_never_prints_a_catalog_password() -> None:
    from acq.app.session import masked

    assert masked("mongodb://bl:s3cret@db.example:27017/acq") == (
        "mongodb://bl:***@db.example:27017/acq"
    )
    assert masked("sqlite:////data/catalog.db") == "sqlite:////data/catalog.db"
