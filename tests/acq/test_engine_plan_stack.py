"""Sub-plans run inline and hand their results back; errors travel up the stack."""

from __future__ import annotations

import pytest

from acq import Msg, RunEngine, plan_return
from acq.plan_stack import PlanDone, PlanStack


async def drive(plan, respond=lambda msg: None) -> tuple[list[Msg], object]:
    stack = PlanStack(plan)
    msgs: list[Msg] = []
    reply = None
    while True:
        try:
            msg = await stack.send(reply)
        except PlanDone as done:
            return msgs, done.value
        msgs.append(msg)
        reply = respond(msg)


async def test_async_sub_plan_returns_its_value_to_the_parent():
    async def inner():
        value = yield Msg("read", "x")
        yield plan_return(value * 2)

    async def outer():
        doubled = yield inner()
        yield Msg("null", doubled)
        yield plan_return(doubled + 1)

    msgs, result = await drive(outer(), lambda m: 21 if m.command == "read" else None)
    assert [m.command for m in msgs] == ["read", "null"]
    assert msgs[1].obj == 42
    assert result == 43


async def test_plain_generator_sub_plan_returns_with_return():
    def inner():
        yield Msg("null")
        return "from-sync"

    async def outer():
        got = yield inner()
        yield plan_return(got)

    _, result = await drive(outer())
    assert result == "from-sync"


async def test_a_finally_block_after_plan_return_can_still_yield_cleanup():
    async def inner():
        try:
            yield Msg("null")
            yield plan_return("value")
        finally:
            yield Msg("cleanup")

    async def outer():
        got = yield inner()
        yield plan_return(got)

    msgs, result = await drive(outer())
    assert [m.command for m in msgs] == ["null", "cleanup"]
    assert result == "value"


async def test_an_error_in_a_sub_plan_is_raised_at_the_parents_yield():
    seen = []

    async def inner():
        yield Msg("null")
        raise ValueError("inner broke")

    async def outer():
        try:
            yield inner()
        except ValueError as error:
            seen.append(str(error))
            yield Msg("recovered")

    msgs, _ = await drive(outer())
    assert seen == ["inner broke"]
    assert msgs[-1].command == "recovered"


async def test_bluesky_style_msg_tuples_are_accepted():
    from collections import namedtuple

    BlueskyMsg = namedtuple("Msg", "command obj args kwargs run")

    def plan():
        yield BlueskyMsg("null", None, (), {}, None)

    msgs, _ = await drive(plan())
    assert msgs == [Msg("null")]
    assert type(msgs[0]) is Msg


async def test_yielding_something_else_raises_a_clear_error_inside_the_plan():
    caught = []

    async def plan():
        try:
            yield 42
        except TypeError as error:
            caught.append(str(error))
        yield Msg("null")

    await drive(plan())
    assert "yielded 42" in caught[0] and "Msg(" in caught[0]


def test_passing_the_plan_function_instead_of_a_plan_is_a_clear_error():
    async def count():
        yield Msg("null")

    with pytest.raises(TypeError, match="did you pass the plan function"):
        PlanStack(count)


async def test_the_engine_returns_the_top_level_plans_value(RE: RunEngine):
    async def inner():
        yield Msg("null")
        yield plan_return("inner")

    async def plan():
        got = yield inner()
        yield plan_return(f"outer({got})")

    result = await RE(plan())
    assert result.plan_result == "outer(inner)"
    assert result.exit_status == "success"
    assert result.run_uids == ()
