"""Real document streams for the handler and exporter tests: RunEngine runs on the sim
IOC and on hardware-free sim devices, collected by a plain list subscriber.
(A module name no other test folder uses.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from event_model import compose_run

import plans
from acq import RunEngine
from devices import connect
from devices.epics.hdf5 import HDF5Detector
from devices.sim import SimDetector, SimMotor
from plans.wrappers import baseline_wrapper

Documents = list[tuple[str, dict[str, Any]]]


async def record(plan: Any, **md: Any) -> Documents:
    """Every document of `plan`, in emission order."""
    docs: Documents = []
    engine = RunEngine(waiting_hook=None)
    engine.subscribe(lambda name, doc: docs.append((name, doc)))
    await engine(plan, **md)
    return docs


async def hdf5_detector(sim_ioc: Any, directory: Path, name: str = "det") -> HDF5Detector:
    directory.mkdir(parents=True, exist_ok=True)
    det = HDF5Detector(sim_ioc.pv("ad1:"), directory, name=name)
    await connect(det, timeout=10)
    await det.cam.acquire_time.set(0.01)
    return det


async def hdf5_count(sim_ioc: Any, directory: Path, num: int = 3) -> Documents:
    """``count`` of the sim IOC's area detector, its frames in an HDF5 file."""
    det = await hdf5_detector(sim_ioc, directory)
    return await record(plans.count([det], num), sample="Si")


async def grid(**md: Any) -> Documents:
    """A 3 x 4 snaking grid scan of a Gaussian detector, with a baseline stream."""
    m1, m2 = SimMotor("m1"), SimMotor("m2")
    await m1.set(0.25)  # baseline positions the SPEC file records
    det = SimDetector("det", m1, center=0.0, width=1.0, peak=100.0)
    plan = baseline_wrapper(
        plans.grid_scan([det], m1, -1.0, 1.0, 3, m2, 0.0, 3.0, 4, snake_axes=True), [m1, m2]
    )
    return await record(plan, **md)


def of(docs: Documents, name: str) -> list[dict[str, Any]]:
    return [doc for n, doc in docs if n == name]


def stream_events(docs: Documents, stream: str = "primary") -> list[dict[str, Any]]:
    uids = {d["uid"] for d in of(docs, "descriptor") if d["name"] == stream}
    return [d for d in of(docs, "event") if d["descriptor"] in uids]


def fly_scan(directory: Path, n: int = 4) -> Documents:
    """`n` frames and their sums described only by StreamResource/StreamDatum (no
    Events), as a collect of acq's bundler or an ophyd-async flyer emits."""
    t = 1_700_000_000.0
    frames = np.repeat(np.arange(n, dtype=float), 6).reshape(n, 2, 3)
    np.save(directory / "det.npy", frames)
    np.save(directory / "sum.npy", frames.sum(axis=(1, 2)))
    bundle = compose_run(metadata={"scan_id": 11, "plan_name": "fly"}, time=t)
    number = {"source": "sim", "dtype": "number", "shape": [], "external": "STREAM:"}
    image = {"source": "sim", "dtype": "array", "shape": [2, 3], "external": "STREAM:"}
    descriptor = bundle.compose_descriptor(
        data_keys={"det": image, "det-sum": number},
        name="primary",
        time=t + 0.5,
        hints={"det": {"fields": ["det-sum"]}},
    )
    docs: Documents = [("start", bundle.start_doc), ("descriptor", descriptor.descriptor_doc)]
    for key, file in (("det", "det.npy"), ("det-sum", "sum.npy")):
        resource = bundle.compose_stream_resource(
            mimetype="application/x-npy",
            uri=f"file://localhost{directory / file}",
            data_key=key,
            parameters={},
        )
        datum = dict(resource.compose_stream_datum(indices={"start": 0, "stop": n}))
        datum["descriptor"] = descriptor.descriptor_doc["uid"]
        datum["seq_nums"] = {"start": 1, "stop": n + 1}
        docs += [("stream_resource", resource.stream_resource_doc), ("stream_datum", datum)]
    docs.append(("stop", bundle.compose_stop(time=t + 10)))
    return docs
