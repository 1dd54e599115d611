"""Images to files vs images inline: a step ``count`` of the sim area detector, per point.

    python -m bench.area_detector_files [--n 50] [--runs 3]

Starts a CA repeater and the sim IOC on private loopback ports. Times ``count([det], n)``
through the RunEngine with (a) `devices.epics.AreaDetector`, which reads each 64x64 frame
inline into the Event, and (b) `devices.epics.HDF5Detector`, whose IOC plugin appends each
frame to an HDF5 file while the Event carries a StreamDatum (docs/decisions/0008).
AcquireTime is 1 ms, so the figures are the per-point overhead. Then reads every frame
back through `storage.handlers.load_stream_datum` (file opened once, lazily).
Target: files cost at most 1.5x the inline read per point (they also write a file).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from iocs.processes import CAEnvironment, running, start_repeater, start_sim_ioc, wait_for_pvs

PREFIX = "benchad:"
TARGET_RATIO = 1.5


async def measure(n: int, runs: int, directory: Path) -> tuple[list[float], list[float], float]:
    import aioca  # after CAEnvironment.apply(): libca reads its environment once

    import plans
    from acq import RunEngine
    from devices import connect
    from devices.epics import AreaDetector, HDF5Detector
    from storage import handlers

    inline = AreaDetector(f"{PREFIX}ad1:", name="inline")
    files = HDF5Detector(f"{PREFIX}ad1:", directory, name="files")
    await connect(inline, files, timeout=10)
    await inline.cam.acquire_time.set(0.001)
    engine = RunEngine(waiting_hook=None)
    docs: list[tuple[str, dict]] = []
    engine.subscribe(lambda name, doc: docs.append((name, doc)))

    async def per_point(det: object) -> float:
        start = time.perf_counter()
        await engine(plans.count([det], n))
        return (time.perf_counter() - start) / n

    try:
        await per_point(inline)  # warm up both paths
        await per_point(files)
        inline_s, files_s = [], []
        for _ in range(runs):
            inline_s.append(await per_point(inline))
            docs.clear()
            files_s.append(await per_point(files))
        resource = next(d for name, d in docs if name == "stream_resource")
        datums = [d for name, d in docs if name == "stream_datum"]
        start = time.perf_counter()
        for datum in datums:
            handlers.load_stream_datum(resource, datum, 0)
        read_s = (time.perf_counter() - start) / len(datums)
        handlers.clear_cache()
        return inline_s, files_s, read_s
    finally:
        aioca.purge_channel_caches()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="points per count")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)

    env = CAEnvironment.allocate(1)
    env.apply()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ACQ_STATE_DIR"] = str(Path(tmp) / "state")  # scan_ids of the bench only
        repeater = start_repeater(env)
        ioc = start_sim_ioc(env, env.server_ports[0], PREFIX, log=Path(tmp) / "ioc.log")
        with running(repeater, ioc):
            wait_for_pvs([f"{PREFIX}ad1:HDF1:Capture"], timeout=30, process=ioc)
            inline_s, files_s, read_s = asyncio.run(measure(args.n, args.runs, Path(tmp)))

    inline_ms = statistics.median(inline_s) * 1e3
    files_ms = statistics.median(files_s) * 1e3
    ratio = files_ms / inline_ms
    print(f"inline AreaDetector: {', '.join(f'{s * 1e3:.2f}' for s in inline_s)} ms/point")
    print(f"HDF5Detector:        {', '.join(f'{s * 1e3:.2f}' for s in files_s)} ms/point")
    print(f"load_stream_datum:   {read_s * 1e3:.3f} ms/frame (64x64 int32, file opened once)")
    verdict = "OK" if ratio <= TARGET_RATIO else "OVER TARGET"
    print(
        f"SUMMARY area_detector_files: {files_ms:.2f} ms/point to files vs {inline_ms:.2f} "
        f"inline = {ratio:.2f}x (target <= {TARGET_RATIO:g}x, {verdict}); "
        f"read back {read_s * 1e3:.3f} ms/frame"
    )


if __name__ == "__main__":
    main()
