"""How fast the simulated beamline answers: aioca ``caget`` of 3 PVs, median over many.

    python -m bench.ioc_caget [--n 300] [--runs 5]

Starts a CA repeater and the sim IOC (``python -m iocs``) on private loopback ports,
times each ``caget([m1.RBV, m2.RBV, scaler1.S3])`` separately and reports the median.
Target: < 2 ms (issue 2). Without TCP_NODELAY on the server a get takes ~40 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from iocs.processes import CAEnvironment, running, start_repeater, start_sim_ioc, wait_for_pvs

PREFIX = "bench:"
PVS = [f"{PREFIX}m1.RBV", f"{PREFIX}m2.RBV", f"{PREFIX}scaler1.S3"]
TARGET_MS = 2.0


async def time_gets(n: int, runs: int) -> list[list[float]]:
    """Seconds per caget of the 3 PVs, one list per run (after a warm-up)."""
    import aioca  # after CAEnvironment.apply(): libca reads its environment once

    async def one() -> float:
        start = time.perf_counter()
        await aioca.caget(PVS, timeout=5)
        return time.perf_counter() - start

    try:
        for _ in range(50):  # connect the channels, warm caches
            await one()
        return [[await one() for _ in range(n)] for _ in range(runs)]
    finally:
        aioca.purge_channel_caches()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="gets per run")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    env = CAEnvironment.allocate(1)
    env.apply()
    with tempfile.TemporaryDirectory() as tmp:
        repeater = start_repeater(env)
        ioc = start_sim_ioc(env, env.server_ports[0], PREFIX, log=Path(tmp) / "ioc.log")
        with running(repeater, ioc):
            wait_for_pvs(PVS, timeout=30, process=ioc)
            runs = asyncio.run(time_gets(args.n, args.runs))

    for i, samples in enumerate(runs, 1):
        print(
            f"run {i}: median {statistics.median(samples) * 1e3:.3f} ms, "
            f"p90 {statistics.quantiles(samples, n=10)[-1] * 1e3:.3f} ms "
            f"over {len(samples)} gets"
        )
    everything = [s for samples in runs for s in samples]
    median_ms = statistics.median(everything) * 1e3
    verdict = "OK" if median_ms < TARGET_MS else "OVER TARGET"
    print(
        f"SUMMARY ioc_caget: median {median_ms:.3f} ms per 3-PV caget over "
        f"{len(everything)} gets (target < {TARGET_MS:g} ms, {verdict})"
    )


if __name__ == "__main__":
    main()
