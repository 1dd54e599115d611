"""Setting PVs of the shared simulated IOC for one test, and putting them back after."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from aioca import caget, caput


@asynccontextmanager
async def pv_values(values: Mapping[str, float]) -> AsyncIterator[None]:
    """Put each ``pv: value`` (with callback); restore the values they had afterwards."""
    before = {pv: await caget(pv, timeout=5) for pv in values}
    for pv, value in values.items():
        await caput(pv, value, wait=True, timeout=10)
    try:
        yield
    finally:
        for pv, value in before.items():
            await caput(pv, value, wait=True, timeout=30)
