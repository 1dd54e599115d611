"""Waiting on signal values: ``await wait_for_value(sig, 1, timeout=5)``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import StatusTimeoutError
from .signal import SignalR, SignalW
from .status import Status

__all__ = ["set_and_wait_for_other_value", "set_and_wait_for_value", "wait_for_value"]

T = TypeVar("T")


def _matcher(expected: Any) -> Callable[[Any], bool]:
    if callable(expected):
        return expected
    return lambda value: bool(value == expected)


async def wait_for_value(
    signal: SignalR[T], expected: T | Callable[[T], bool], timeout: float | None
) -> T:
    """Return the first value of `signal` (now or later) equal to `expected`.

    `expected` may be a predicate: ``wait_for_value(sig, lambda v: v > 3, timeout=5)``.
    Raises `StatusTimeoutError` naming the signal and the last value seen.
    """
    matches = _matcher(expected)
    found: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    last: list[Any] = []

    def check(value: T) -> None:
        last[:] = [value]
        if not found.done() and matches(value):
            found.set_result(value)

    signal.subscribe_value(check)
    try:
        async with asyncio.timeout(timeout):
            return await found
    except TimeoutError:
        seen = f"; last value {last[0]!r}" if last else "; no value arrived"
        wanted = "the condition" if callable(expected) else repr(expected)
        raise StatusTimeoutError(
            f"{signal.name or signal.source} did not reach {wanted} within {timeout:g} s{seen}"
        ) from None
    finally:
        signal.clear_sub(check)


async def set_and_wait_for_other_value(
    set_signal: SignalW[T],
    set_value: T,
    match_signal: SignalR[Any],
    match_value: Any,
    timeout: float | None = 10.0,
    *,
    set_timeout: float | None = None,
    wait_for_set_completion: bool = True,
) -> Status:
    """Set one signal and wait until another reports `match_value`.

    Typical of area detectors: put ``Acquire=1`` and wait for ``Acquire_RBV == 1``. The
    current value counts: if `match_signal` already matches, only the set is awaited.
    Returns the set's `Status` (already awaited when `wait_for_set_completion`).
    """
    matches = _matcher(match_value)
    reached = asyncio.get_running_loop().create_future()

    def check(value: Any) -> None:
        if not reached.done() and matches(value):
            reached.set_result(value)

    match_signal.subscribe_value(check)
    try:
        status = set_signal.set(set_value, wait=True, timeout=set_timeout)
        try:
            async with asyncio.timeout(timeout):
                await reached
        except TimeoutError:
            raise StatusTimeoutError(
                f"{match_signal.name or match_signal.source} did not reach {match_value!r} "
                f"within {timeout:g} s of setting {set_signal.name} to {set_value!r}"
            ) from None
    finally:
        match_signal.clear_sub(check)
    if wait_for_set_completion:
        await status
    return status


async def set_and_wait_for_value(
    signal: Any, value: Any, timeout: float | None = 10.0, **kwargs: Any
) -> Status:
    """Set a read-write signal and wait until it reads back `value`."""
    return await set_and_wait_for_other_value(signal, value, signal, value, timeout, **kwargs)
