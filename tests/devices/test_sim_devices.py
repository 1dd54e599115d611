"""Hardware-free sim devices: motion with progress, limits, stop, fresh detector values."""

from __future__ import annotations

import asyncio
import math

import pytest

from acq.protocols import (
    EventPageCollectable,
    Flyable,
    Locatable,
    Movable,
    Pausable,
    Preparable,
    Readable,
    Stoppable,
    Triggerable,
)
from devices import (
    MotorLimitError,
    MotorStoppedError,
    SignalValueError,
    StatusTimeoutError,
    connect,
)
from devices.sim import SimDetector, SimFlyer, SimImageDetector, SimMotor


async def test_instant_motor_move_is_finished_when_returned() -> None:
    m1 = SimMotor("m1")
    await connect(m1)
    assert isinstance(m1, Movable | Locatable | Readable | Stoppable)
    status = m1.set(2.0)
    assert status.done and status.success
    assert await m1.locate() == {"setpoint": 2.0, "readback": 2.0}
    assert (await m1.read())["m1"]["value"] == 2.0
    assert m1.hints == {"fields": ["m1"]}
    assert set(await m1.read_configuration()) == {"m1_velocity", "m1_motor_egu"}


async def test_moving_motor_reports_progress_to_the_target() -> None:
    m1 = SimMotor("m1", velocity=20.0, units="deg")
    status = m1.set(1.0)
    updates = []
    status.watch(updates.append)
    assert not status.done
    await asyncio.wait_for(status.wait(), timeout=5)
    assert m1.position == 1.0
    assert updates[-1].fraction == 1.0 and updates[-1].unit == "deg"
    assert len(updates) >= 3
    assert all(0.0 <= p.fraction <= 1.0 for p in updates)
    assert [p.current for p in updates] == sorted(p.current for p in updates)


async def test_move_beyond_limits_raises_and_does_not_move() -> None:
    m1 = SimMotor("m1", limits=(-5.0, 5.0))
    with pytest.raises(MotorLimitError, match=r"m1: target 7 is outside the limits \[-5, 5\]"):
        m1.set(7.0)
    assert m1.position == 0.0
    with pytest.raises(SignalValueError, match="m1: expected float"):
        m1.set("far")


async def test_stop_ends_the_move_where_it_is() -> None:
    m1 = SimMotor("m1", velocity=1.0)
    status = m1.set(10.0)
    await asyncio.wait_for(_until(lambda: m1.position > 0.02), timeout=5)
    m1.stop()
    await asyncio.wait_for(status.wait(), timeout=5)
    assert status.success and 0.0 < m1.position < 10.0
    failing = m1.set(-10.0)
    m1.stop(success=False)
    with pytest.raises(MotorStoppedError, match="m1: the move to -10 was stopped"):
        await asyncio.wait_for(failing.wait(), timeout=5)


async def test_a_new_target_supersedes_a_move_in_progress() -> None:
    m1 = SimMotor("m1", velocity=100.0)
    first = m1.set(50.0)
    second = m1.set(0.1)
    with pytest.raises(MotorStoppedError):
        await asyncio.wait_for(first.wait(), timeout=5)
    await asyncio.wait_for(second.wait(), timeout=5)
    assert m1.position == pytest.approx(0.1)


async def test_detector_reads_a_gaussian_of_the_motor_after_trigger() -> None:
    m1 = SimMotor("m1")
    det = SimDetector("det", m1, center=1.0, width=0.5, peak=100.0)
    await connect(m1, det)
    assert isinstance(det, Triggerable | Readable)
    assert det.hints == {"fields": ["det"]}
    for x in (-1.0, 0.5, 1.0, 2.0):
        await m1.set(x)
        await det.trigger()
        value = (await det.read())["det"]["value"]
        assert value == pytest.approx(100.0 * math.exp(-((x - 1.0) ** 2) / 0.5))
    assert set(await det.read_configuration()) == {"det_center", "det_width", "det_peak"}


async def test_detector_value_is_never_older_than_the_last_move() -> None:
    m1 = SimMotor("m1")
    det = SimDetector("det", m1, peak=10.0, width=1.0)
    await det.trigger()
    await m1.set(3.0)  # a read after a move, without a new trigger, follows the move
    assert (await det.read())["det"]["value"] == pytest.approx(10 * math.exp(-4.5))


async def test_noisy_detector_is_reproducible_with_a_seed() -> None:
    values = []
    for _ in range(2):
        det = SimDetector("det", None, peak=100.0, noise=0.1, seed=3)
        await det.trigger()
        values.append((await det.read())["det"]["value"])
    assert values[0] == values[1] != 100.0


async def test_image_detector_spot_follows_the_motors() -> None:
    sx, sy = SimMotor("sx"), SimMotor("sy")
    cam = SimImageDetector("cam", sx, sy, shape=(32, 48), width=2.0, seed=1)
    await connect(sx, sy, cam)
    await sx.set(10.0)
    await cam.trigger()
    reading = await cam.read()
    image = reading["cam_image"]["value"]
    assert image.shape == (32, 48)
    row, col = divmod(int(image.argmax()), 48)
    assert abs(col - (23.5 + 10)) <= 2 and abs(row - 15.5) <= 2
    assert reading["cam_total"]["value"] == image.sum()
    assert (await cam.describe())["cam_image"]["shape"] == [32, 48]
    assert cam.hints == {"fields": ["cam_total"]}


async def _until(condition) -> None:
    while not condition():
        await asyncio.sleep(0.005)


async def test_paused_motor_holds_and_resumes_to_its_target() -> None:
    m1 = SimMotor("m1", velocity=2.0)
    assert isinstance(m1, Pausable)
    status = m1.set(3.0)  # 1.5 s: the pause lands mid-move even on a loaded machine
    await asyncio.wait_for(_until(lambda: m1.position > 0.02), timeout=5)
    m1.pause()
    held = m1.position
    with pytest.raises(StatusTimeoutError):  # paused: the move stays pending
        await status.wait(timeout=0.3)
    assert m1.position == pytest.approx(held, abs=0.05), "unpaused it would be 0.6 mm on"
    m1.resume()
    await asyncio.wait_for(status.wait(), timeout=20)
    assert status.success and m1.position == 3.0


async def test_flyer_sweeps_and_collects_pages() -> None:
    m1 = SimMotor("m1")
    det = SimDetector("det", m1, center=0.0, width=0.5, peak=10.0)
    flyer = SimFlyer("fly", m1, det, period=0.005)
    assert isinstance(flyer, Flyable | EventPageCollectable | Preparable)
    await flyer.prepare({"start": -0.5, "stop": 0.5, "velocity": 5.0})
    assert m1.position == -0.5
    await flyer.kickoff()
    await flyer.complete().wait(timeout=5)
    assert set(await flyer.describe_collect()) == {"m1", "det"}
    pages = [page async for page in flyer.collect_pages()]
    assert len(pages) == 1
    xs, ys = pages[0]["data"]["m1"], pages[0]["data"]["det"]
    assert len(xs) == len(ys) == len(pages[0]["time"]) >= 5
    assert xs[0] == -0.5 and xs[-1] == 0.5 and xs == sorted(xs)
    assert max(ys) > 9.0
    assert [page async for page in flyer.collect_pages()] == []
