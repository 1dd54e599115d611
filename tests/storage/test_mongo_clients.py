"""An existing PyMongo-async or motor database object works as the catalog's target."""

from __future__ import annotations

import time

import pytest
from motor.motor_asyncio import AsyncIOMotorClient
from pymongo import AsyncMongoClient

from storage import open_catalog


@pytest.mark.parametrize("client_class", [AsyncMongoClient, AsyncIOMotorClient])
async def test_a_database_object_is_accepted(mongo_uri: str, client_class: type) -> None:
    base, name = mongo_uri.rsplit("/", 1)
    client = client_class(base, serverSelectionTimeoutMS=10_000)
    try:
        catalog = await open_catalog(client[name], timeout=10)
        now = time.time()
        await catalog.writer("start", {"uid": "obj-run-0001", "time": now, "scan_id": 3})
        await catalog.writer(
            "stop",
            {
                "uid": "obj-stop",
                "run_start": "obj-run-0001",
                "time": now + 1,
                "exit_status": "success",
            },
        )
        run = await catalog.run(3)
        assert run.uid == "obj-run-0001" and run.stop is not None
        assert await client[name].run_start.count_documents({}) == 1
        await catalog.close()
    finally:
        closing = client.close()
        if closing is not None:
            await closing
