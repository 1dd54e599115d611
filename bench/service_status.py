"""50 clients polling the queue service's status at 10 Hz while a scan runs in it.

    python -m bench.service_status [--clients 50] [--rate 10] [--points 60] [--rounds 3]

``acq serve`` runs on the simulated beamline (private CA ports and loopback HTTP port):
a step scan of the motor ``m1`` with the scaler counting 20 ms per point. The HTTP
server, the queue worker and the engine share one asyncio loop, so every status request
takes loop time from the scan; this measures how much. Each round runs the scan once
alone and once while `--clients` httpx clients each GET ``/api/status`` `--rate` times a
second, each at its own random phase (each waits for its reply, then for its next tick).

A control in each round: the same clients poll a second service process (idle) while
the scan runs, so what the machine loses to the clients' CPU (two cores here) shows apart
from what the serving loop costs the scan.

Per-point time is the spacing of the scan's Event documents (their ``time``, stamped in
the service), taken from the service's WebSocket stream; medians over the rounds.
Latency is the client-side time of each status request. Target: the loaded scan's
per-point median within 5% of the quiet one; the p99 status latency is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from iocs.processes import (
    CAEnvironment,
    ManagedProcess,
    running,
    start_repeater,
    start_sim_ioc,
    wait_for_pvs,
)

TARGET = 0.05  # per-point slowdown
KEY = "bench-key"
PREFIX = "benchsvc:"

STARTUP = """
from devices.epics import EpicsMotor, Scaler
from plans import scan

m1 = EpicsMotor("{prefix}m1", name="m1")
scaler = Scaler("{prefix}scaler1", name="scaler")
"""


def start_service(work: Path) -> tuple[ManagedProcess, str]:
    work.mkdir(parents=True, exist_ok=True)
    startup = work / "beamline.py"
    startup.write_text(STARTUP.format(prefix=PREFIX))
    log = work / "serve.log"
    argv = [sys.executable, "-m", "acq.cli", "serve", "--config", str(startup), "--port", "0"]
    argv += ["--db", f"sqlite:///{work}/queue.db"]
    env = {"ACQ_SERVE_API_KEY": KEY, "ACQ_STATE_DIR": str(work / "state")}
    process = ManagedProcess("acq serve", argv, env, log=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        match = re.search(r"acq queue service on (http://\S+) ", log.read_text())
        if match:
            return process, match.group(1)
        if not process.alive():
            break
        time.sleep(0.05)
    process.stop()
    raise RuntimeError(f"acq serve did not start:\n{log.read_text()[-2000:]}")


async def configure_ioc() -> None:
    import aioca

    try:
        await aioca.caput(f"{PREFIX}scaler1.TP", 0.02, wait=True, timeout=10)
        await aioca.caput(f"{PREFIX}m1.VELO", 10.0, wait=True, timeout=10)
    finally:
        aioca.purge_channel_caches()


async def run_scan(url: str, points: int) -> list[float]:
    """Queue one scan, start it, and return its per-point times (s) from the stream."""
    import httpx
    from websockets.asyncio.client import connect

    headers = {"Authorization": f"ApiKey {KEY}"}
    item = {"item_type": "plan", "name": "scan", "args": [["scaler"], "m1", 0, 1, points]}
    times: list[float] = []
    ws_url = url.replace("http://", "ws://") + "/api/stream?documents=true"
    async with connect(ws_url, additional_headers=headers) as ws:
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
            (await http.post("/api/queue/item/add", json={"item": item})).raise_for_status()
            (await http.post("/api/queue/start")).raise_for_status()
        async with asyncio.timeout(120):
            async for raw in ws:
                message = json.loads(raw)
                if message["type"] != "document":
                    continue
                if message["name"] == "event":
                    times.append(message["doc"]["time"])
                elif message["name"] == "stop":
                    break
    return [b - a for a, b in itertools.pairwise(times)]


async def poll(url: str, rate: float, stop: asyncio.Event, latencies: list[float]) -> None:
    import httpx

    headers = {"Authorization": f"ApiKey {KEY}"}
    period = 1.0 / rate
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as http:
        # independent clients: each polls at its own phase, not all in one burst
        next_tick = time.perf_counter() + random.uniform(0, period)
        while not stop.is_set():
            start = time.perf_counter()
            reply = await http.get("/api/status")
            reply.raise_for_status()
            latencies.append(time.perf_counter() - start)
            next_tick += period
            delay = next_tick - time.perf_counter()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                except TimeoutError:
                    pass
            else:
                next_tick = time.perf_counter()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def loaded_scan(
    url: str, points: int, clients: int, rate: float, pid: int, poll_url: str = ""
) -> tuple[list[float], list[float], float, float, float]:
    """Per-point times, status latencies during the scan, requests/s, service and client
    CPU (fraction of a core). The clients poll `poll_url` (default: the scanning service)."""
    stop = asyncio.Event()
    latencies: list[float] = []
    target = poll_url or url
    pollers = [asyncio.create_task(poll(target, rate, stop, latencies)) for _ in range(clients)]
    try:
        await asyncio.sleep(1.5)  # connected and polling before the scan starts
        n_before, cpu_before = len(latencies), cpu_seconds(pid)
        own_before = cpu_seconds(os.getpid())
        started = time.perf_counter()
        per_point = await run_scan(url, points)
        elapsed = time.perf_counter() - started
        during = latencies[n_before:]
        cpu = cpu_seconds(pid) - cpu_before
        own = cpu_seconds(os.getpid()) - own_before
    finally:
        stop.set()
        await asyncio.gather(*pollers)
    return per_point, during, len(during) / elapsed, cpu / elapsed, own / elapsed


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


async def measure(url: str, pid: int, control_url: str, args: argparse.Namespace) -> None:
    await configure_ioc()
    await run_scan(url, 5)  # warm up: connections, first-run imports
    quiet: list[float] = []
    loaded: list[float] = []
    elsewhere: list[float] = []
    latencies: list[float] = []
    cpu_per_request: list[float] = []
    for i in range(args.rounds):
        cpu_before, started = cpu_seconds(pid), time.perf_counter()
        q = statistics.median(await run_scan(url, args.points))
        quiet_cpu_rate = (cpu_seconds(pid) - cpu_before) / (time.perf_counter() - started)
        per_point, lat, rate_seen, cpu_rate, client_rate = await loaded_scan(
            url, args.points, args.clients, args.rate, pid
        )
        # what the requests added to the service's CPU (the scan's own taken out), each
        cpu_per_request.append(max(cpu_rate - quiet_cpu_rate, 0.0) / rate_seen)
        loaded_median = statistics.median(per_point)
        # control: the same clients poll another service process; what the scan loses
        # then is the machine's (CPU for the clients), not the serving loop's
        control = await loaded_scan(url, args.points, args.clients, args.rate, pid, control_url)
        elsewhere_median = statistics.median(control[0])
        quiet.append(q)
        loaded.append(loaded_median)
        elsewhere.append(elsewhere_median)
        latencies += lat
        print(
            f"round {i + 1}: per point quiet {q * 1e3:.2f} ms, loaded {loaded_median * 1e3:.2f} ms"
            f" ({loaded_median / q - 1:+.1%}), clients on another process "
            f"{elsewhere_median * 1e3:.2f} ms ({elsewhere_median / q - 1:+.1%}); "
            f"service CPU {quiet_cpu_rate:.0%} of a core "
            f"quiet, {cpu_rate:.0%} loaded (the clients: {client_rate:.0%}); "
            f"{rate_seen:.0f} status requests/s served, "
            f"latency median "
            f"{statistics.median(lat) * 1e3:.2f} ms, p99 {p99(lat) * 1e3:.2f} ms; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
            flush=True,
        )
    change = statistics.median(loaded) / statistics.median(quiet) - 1
    machine = statistics.median(elsewhere) / statistics.median(quiet) - 1
    verdict = "met" if change <= TARGET else "NOT met"
    print(
        f"SUMMARY service_status: {args.clients} clients x {args.rate:g} Hz status polling "
        f"moves the per-point time by {change:+.1%} (target <= +{TARGET:.0%}: {verdict}; "
        f"the same clients polling another process: {machine:+.1%}); "
        f"status latency median {statistics.median(latencies) * 1e3:.2f} ms, "
        f"p99 {p99(latencies) * 1e3:.2f} ms over {len(latencies)} requests during scans; "
        f"the requests add {statistics.median(cpu_per_request) * 1e3:.3f} ms of service CPU "
        f"each",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rate", type=float, default=10.0, help="requests/s per client")
    parser.add_argument("--points", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    env = CAEnvironment.allocate(n_servers=1)
    env.apply()
    work = Path(tempfile.mkdtemp(prefix="acq-bench-service-"))
    port = env.server_ports[0]
    with running(
        start_repeater(env, log=work / "repeater.log"),
        start_sim_ioc(env, port, PREFIX, log=work / "ioc.log"),
    ) as (_, ioc):
        wait_for_pvs([f"{PREFIX}m1.RBV", f"{PREFIX}scaler1.CNT"], process=ioc)
        service, url = start_service(work / "service")
        control, control_url = start_service(work / "control")
        with running(service, control):
            # the clients are the heavy side here: uvloop (when installed) lightens them
            try:
                import uvloop

                uvloop.run(measure(url, service.pid, control_url, args))
            except ImportError:
                asyncio.run(measure(url, service.pid, control_url, args))


if __name__ == "__main__":
    main()
