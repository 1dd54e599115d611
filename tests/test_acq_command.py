"""The commands a newcomer types first: ``acq --help``, ``acq iocs``, ``acq demo``.

They run as subprocesses, exactly as from a shell, each choosing its own private ports.
"""

from __future__ import annotations

import os
import subprocess
import sys

from iocs.processes import CAEnvironment, free_port


def acq(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    # A clean CA environment: the demo picks its own ports, like on a user's machine.
    env = {k: v for k, v in os.environ.items() if not k.startswith("EPICS_")}
    return subprocess.run(
        [sys.executable, "-m", "acq.cli", *args],
        env=env,
        text=True,
        capture_output=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_help_lists_the_subcommands() -> None:
    result = acq("--help")
    assert result.returncode == 0
    assert "iocs" in result.stdout and "demo" in result.stdout


def test_unknown_subcommand_is_refused() -> None:
    result = acq("frobnicate")
    assert result.returncode == 2
    assert "invalid choice: 'frobnicate'" in result.stderr


def test_iocs_lists_its_pvs() -> None:
    result = acq("iocs", "--prefix", "xx:", "--list-pvs")
    assert result.returncode == 0, result.stderr
    pvs = set(result.stdout.split())
    assert {"xx:m1", "xx:m1.RBV", "xx:scaler1.CNT", "xx:ring:current"} <= pvs


def test_demo_runs_against_its_own_ioc() -> None:
    result = acq("demo")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "demo finished" in out
    # a 1-D scan, a grid scan and one theta/two-theta scan per temperature, all complete
    assert out.count("run ended: success") == 4, out
    assert "peak det" in out and out.count("peak diff") == 3


def test_ca_environment_lists_every_ioc_port() -> None:
    env = CAEnvironment.allocate(n_servers=3)
    assert len(set(env.server_ports)) == 3 and env.repeater_port not in env.server_ports
    client = env.client_env()
    assert client["EPICS_CA_AUTO_ADDR_LIST"] == "NO"
    assert client["EPICS_CA_ADDR_LIST"].split() == [f"127.0.0.1:{p}" for p in env.server_ports]
    server = env.server_env(env.server_ports[1])
    assert server["EPICS_CA_SERVER_PORT"] == str(env.server_ports[1])


def test_free_port_is_free_for_tcp_and_udp() -> None:
    import socket

    port = free_port()
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", port))
