"""``acq demo``: a short session against the simulated beamline.

This module is the composition root: it is the one place that wires the simulated IOC,
the device layer, the engine and the plans together, the way a beamline's startup file
would. It starts its own peers on private loopback ports, so it never touches a real
beamline and two demos on one machine do not collide.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from iocs.processes import CAEnvironment, running, start_repeater, start_sim_ioc, wait_for_pvs

PREFIX = "sim:"


def _print(*parts: object) -> None:
    print(*parts, flush=True)


class RunPrinter:
    """Prints each run as a small table: the hinted fields of every event, then a summary.

    A stand-in for `viz.LiveTable` (issue 6/7) that keeps the demo readable meanwhile.
    """

    def __init__(self) -> None:
        self.fields: list[str] = []
        self.peak: dict[str, tuple[float, dict[str, float]]] = {}
        self.peak_fields: tuple[str, ...] = ()

    def __call__(self, name: str, doc: dict) -> None:
        getattr(self, name, lambda doc: None)(doc)

    def start(self, doc: dict) -> None:
        extra = {k: doc[k] for k in ("temperature", "sample") if k in doc}
        _print(f"\n--- run {doc['scan_id']} ({doc['plan_name']}) {extra or ''}")
        self.peak.clear()
        # the detector this kind of scan is about
        self.peak_fields = ("diff",) if {"th", "tth"} & set(doc.get("motors", ())) else ("det",)

    def descriptor(self, doc: dict) -> None:
        if doc.get("name") != "primary":
            return
        hinted = [f for hints in doc.get("hints", {}).values() for f in hints.get("fields", [])]
        self.fields = [f for f in hinted if f in doc["data_keys"]]
        _print(" ".join(f"{f:>10}" for f in ["seq_num", *self.fields]))

    def event(self, doc: dict) -> None:
        data = doc["data"]
        cells = [f"{doc['seq_num']:>10}"]
        for field in self.fields:
            value = data.get(field)
            cells.append(f"{value:>10.4g}" if isinstance(value, int | float) else f"{'':>10}")
        _print(" ".join(cells))
        for field in self.peak_fields:
            if field in data and data[field] > self.peak.get(field, (-1.0, {}))[0]:
                self.peak[field] = (data[field], dict(data))

    def stop(self, doc: dict) -> None:
        for field, (value, data) in self.peak.items():
            where = ", ".join(
                f"{k}={v:.3f}" for k, v in data.items() if k in ("m1", "sx", "sy", "th", "tth")
            )
            _print(f"    peak {field} = {value:.0f} counts at {where}")
        _print(f"--- run ended: {doc['exit_status']}, {doc.get('num_events', {})}")


async def session(prefix: str) -> None:
    """What a scientist would type at the beamline."""
    import aioca

    from acq import RunEngine
    from devices import connect
    from devices.epics import EpicsMotor, Scaler, TemperatureController
    from plans import grid_scan, scan, temperature_theta_2theta_scan

    try:
        RE = RunEngine(md={"beamline_id": "sim", "operator": "demo"})
        RE.subscribe(RunPrinter())

        m1, sx, sy, th, tth = (
            EpicsMotor(f"{prefix}{n}", name=n) for n in ("m1", "sx", "sy", "th", "tth")
        )
        scaler = Scaler(f"{prefix}scaler1", name="scaler")
        temperature = TemperatureController(f"{prefix}tc1:", name="temperature")
        await connect(m1, sx, sy, th, tth, scaler, temperature)

        # demo-speed hardware: fast motors, short counts, a quick heater
        for motor in (m1, sx, sy, th, tth):
            await motor.velocity.set(10)
        await scaler.preset_time.set(0.05)
        await temperature.ramp_rate.set(100)

        _print("1-D scan of m1 across the detector's Gaussian:")
        await RE(scan([scaler], m1, -2, 2, 21), sample="Si")

        _print("\n2-D grid scan: a th/tth map of the Si(111) Bragg peak (snaking):")
        await RE(grid_scan([scaler], th, 9.05, 9.30, 6, tth, 18.15, 18.55, 9, snake_axes=True))

        _print("\nA theta/two-theta scan at each temperature (the Bragg peak moves):")
        await RE(
            temperature_theta_2theta_scan(
                [scaler], temperature, [295, 395], th, tth, 8.80, 9.32, 27
            )
        )
        await RE.flush()
    finally:
        aioca.purge_channel_caches()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="acq demo", description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", default=PREFIX, help="PV prefix of the simulated IOC")
    args = parser.parse_args(argv)

    env = CAEnvironment.allocate(n_servers=1)
    env.apply()  # before the first Channel Access call in this process
    logs = Path(tempfile.mkdtemp(prefix="acq-demo-"))
    port = env.server_ports[0]
    _print(f"starting the simulated beamline on 127.0.0.1:{port} (logs in {logs}) ...")
    with running(
        start_repeater(env, log=logs / "repeater.log"),
        start_sim_ioc(env, port, args.prefix, log=logs / "ioc.log"),
    ) as (_, ioc):
        wait_for_pvs([f"{args.prefix}m1.RBV", f"{args.prefix}scaler1.CNT"], process=ioc)
        try:
            asyncio.run(session(args.prefix))
        except KeyboardInterrupt:
            _print("interrupted")
            return 130
    _print("demo finished; the simulated beamline has been stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
