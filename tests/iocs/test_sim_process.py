"""The IOC as a program: its PV list, its ready line, and a clean exit on signals."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from dataclasses import replace

import pytest

from iocs.processes import free_port, start_repeater, start_sim_ioc, wait_for_pvs

MOTOR_FIELDS = (
    "VAL RBV DMOV MOVN STOP SPMG VELO VMAX ACCL HLM LLM DHLM DLLM LVIO EGU DESC PREC MRES RDBD OFF"
).split()
# every name docs/reference/sim-beamline-pvs.md promises, without the prefix
CONTRACT = {
    *(
        f"{m}{suffix}"
        for m in ("m1", "m2", "m3", "m4", "th", "tth", "sx", "sy")
        for suffix in ["", *(f".{f}" for f in MOTOR_FIELDS)]
    ),
    *(f"scaler1.{f}" for f in ("CNT", "TP", "T", "FREQ")),
    *(f"scaler1.S{n}" for n in range(1, 9)),
    *(f"scaler1.NM{n}" for n in range(1, 9)),
    *(
        f"model:{p}"
        for p in (
            "det_center",
            "det_width",
            "det_peak",
            "d0",
            "alpha",
            "T0",
            "wavelength",
            "bragg_width",
            "bragg_peak",
            "background",
        )
    ),
    *(f"tc1:{f}" for f in ("SP", "RBV", "RATE", "TOL", "EGU")),
    *(
        f"ad1:cam1:{f}"
        for f in (
            "Acquire",
            "Acquire_RBV",
            "AcquireTime",
            "NumImages",
            "ArrayCounter_RBV",
            "ArraySizeX_RBV",
            "ArraySizeY_RBV",
            "SizeX",
            "SizeY",
            "DetectorState_RBV",
        )
    ),
    "ad1:image1:ArrayData",
    "ad1:image1:ArrayCounter_RBV",
    *(f"ring:{f}" for f in ("current", "dump", "refill", "refill_time")),
    *(f"shutter:{f}" for f in ("open", "close", "state", "delay")),
    *(f"und:{f}" for f in ("Energy", "EnergySet", "Gap", "GapSet", "Start", "Busy", "GapSpeed")),
}


def test_list_pvs_prints_every_contract_name_with_the_prefix():
    result = subprocess.run(
        [sys.executable, "-m", "iocs", "--prefix", "zz:", "--list-pvs"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    names = result.stdout.split()

    assert len(names) == len(set(names))
    assert all(name.startswith("zz:") for name in names)
    missing = {f"zz:{name}" for name in CONTRACT} - set(names)
    assert not missing, f"names in the PV contract but not served: {sorted(missing)}"


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_ioc_stops_cleanly_on_signal(ca_env, ca_repeater, tmp_path, stop_signal):
    prefix = f"stop{uuid.uuid4().hex[:5]}:"
    port = ca_env.server_ports[2]  # the session's spare port
    log = tmp_path / "ioc.log"
    process = start_sim_ioc(ca_env, port, prefix, log=log)
    try:
        wait_for_pvs([f"{prefix}m1.RBV"], timeout=30, process=process)
        process.proc.send_signal(stop_signal)
        returncode = process.proc.wait(timeout=10)
    finally:
        process.stop()

    output = log.read_text()
    assert returncode == 0, output
    assert f"with prefix {prefix} on 127.0.0.1:{port}" in output
    assert "Traceback" not in output


def test_the_ioc_and_the_repeater_stop_when_their_parent_lets_go(ca_env, ca_repeater, tmp_path):
    """A test run or demo that is killed closes their standard input: they stop too,
    rather than serving on with nobody left to end them."""
    prefix = f"orphan{uuid.uuid4().hex[:5]}:"
    port = ca_env.server_ports[2]  # the session's spare port
    log = tmp_path / "ioc.log"
    ioc = start_sim_ioc(ca_env, port, prefix, log=log)
    repeater = start_repeater(replace(ca_env, repeater_port=free_port()), log=tmp_path / "rep.log")
    try:
        wait_for_pvs([f"{prefix}m1.RBV"], timeout=30, process=ioc)
        assert repeater.alive()
        for process in (ioc, repeater):
            assert process.proc.stdin is not None
            process.proc.stdin.close()  # what the kernel does when we die
        assert ioc.proc.wait(timeout=10) == 0, log.read_text()
        assert repeater.proc.wait(timeout=10) == 0
    finally:
        ioc.stop()
        repeater.stop()
    assert "Traceback" not in log.read_text()
