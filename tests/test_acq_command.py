"""The commands a newcomer types first: ``acq --help``, ``acq iocs``, ``acq demo``.

They run as subprocesses, exactly as from a shell, each choosing its own private ports.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

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
