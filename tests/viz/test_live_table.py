"""LiveTable through the real RunEngine: what a user sees in the terminal."""

from __future__ import annotations

import io

import plans
from devices.sim import SimDetector, SimMotor
from plans.wrappers import baseline_wrapper
from viz import LiveTable


async def test_one_row_per_event_with_units_precision_baseline_and_summary(RE) -> None:
    m1 = SimMotor("m1", velocity=100.0)
    det = SimDetector("det", m1, center=0.0, width=1.0)
    temp = SimMotor("temp", velocity=100.0)
    out = io.StringIO()
    RE.subscribe(LiveTable(out=out, header_every=4))
    result = await RE(baseline_wrapper(plans.scan([det], m1, -1, 1, 6), [temp]))
    await RE.flush()
    lines = out.getvalue().splitlines()

    rows = [line for line in lines if line.startswith("|") and line.split("|")[1].strip().isdigit()]
    assert [int(r.split("|")[1]) for r in rows] == [1, 2, 3, 4, 5, 6]
    header = next(line for line in lines if "seq_num" in line)
    assert header.split("|")[3].strip() == "m1" and header.split("|")[4].strip() == "det"
    assert any("(mm)" in line for line in lines)  # m1's units under its name
    assert rows[0].split("|")[3].strip() == "-1.000"  # precision 3 from the descriptor
    assert len({len(line) for line in rows}) == 1  # fixed widths: columns stay aligned
    assert sum("seq_num" in line for line in lines) == 2  # header repeated after 4 rows
    assert any(line.startswith("Baseline at start: temp = 0.000") for line in lines)
    assert any(line.startswith("Baseline at end: temp") for line in lines)
    assert lines[-1].startswith(f"Run {result_scan_id(lines)} success: 6 points in ")
    assert result.exit_status == "success"


def result_scan_id(lines: list[str]) -> str:
    return lines[0].split()[1]


async def test_a_failed_run_says_so_in_the_summary(RE) -> None:
    out = io.StringIO()
    RE.subscribe(LiveTable(out=out))

    async def plan():
        from acq import Msg

        yield Msg("open_run")
        yield Msg("close_run", exit_status="fail", reason="sample fell off")

    await RE(plan())
    await RE.flush()
    assert "fail (sample fell off): 0 points" in out.getvalue().splitlines()[-1]


def test_event_pages_give_one_row_per_event() -> None:
    import event_model

    out = io.StringIO()
    table = LiveTable(out=out)
    run = event_model.compose_run(metadata={"scan_id": 7, "plan_name": "count"})
    table("start", run.start_doc)
    desc = run.compose_descriptor(
        name="primary",
        data_keys={"det": {"dtype": "number", "shape": [], "source": "sim", "precision": 2}},
        hints={"det": {"fields": ["det"]}},
    )
    table("descriptor", desc.descriptor_doc)
    events = [
        desc.compose_event(data={"det": v}, timestamps={"det": 0.0}, seq_num=i + 1)
        for i, v in enumerate([1.0, 2.5, 4.25])
    ]
    table("event_page", event_model.pack_event_page(*events))
    table("stop", run.compose_stop())
    cells = [line.split("|")[3].strip() for line in out.getvalue().splitlines()
             if line.startswith("|") and line.split("|")[1].strip().isdigit()]  # fmt: skip
    assert cells == ["1.00", "2.50", "4.25"]
    assert out.getvalue().splitlines()[-1].startswith("Run 7 success: 3 points")
