"""A Mongo-wire server that refuses: wrong credentials, or a user without write rights.

nx-27017 has no authentication and no roles, so the open-time errors for a refused login
and for a read-only user need a peer that gives MongoDB's own answers: code 18
(AuthenticationFailed) to ``saslStart``, code 13 (Unauthorized) to ``createIndexes``.
This one speaks just enough of the protocol for PyMongo's handshake (OP_QUERY ``hello``,
then OP_MSG commands) and answers every other command ``ok``. Loopback only.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import bson

_HEADER = struct.Struct("<iiii")  # messageLength, requestID, responseTo, opCode
OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013

AUTH_FAILED = {
    "ok": 0.0,
    "code": 18,
    "codeName": "AuthenticationFailed",
    "errmsg": "Authentication failed.",
}


def _unauthorized(command: str) -> dict[str, Any]:
    return {
        "ok": 0.0,
        "code": 13,
        "codeName": "Unauthorized",
        "errmsg": f"not authorized on acq to execute command {{ {command}: ... }}",
    }


def _hello(request: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = {
        "helloOk": True,
        "ismaster": True,
        "isWritablePrimary": True,
        "maxBsonObjectSize": 16 * 1024 * 1024,
        "maxMessageSizeBytes": 48_000_000,
        "maxWriteBatchSize": 100_000,
        "localTime": bson.datetime.datetime.now(bson.tz_util.utc),
        "logicalSessionTimeoutMinutes": 30,
        "connectionId": 1,
        "minWireVersion": 0,
        "maxWireVersion": 17,
        "readOnly": False,
        "ok": 1.0,
    }
    if "saslSupportedMechs" in request:
        reply["saslSupportedMechs"] = ["SCRAM-SHA-256"]
    return reply


class RefusingMongo:
    """`refuse` is ``"login"`` (every authentication fails) or ``"writes"`` (commands
    that write are unauthorized). `commands` lists the command names received."""

    def __init__(self, refuse: str) -> None:
        self.refuse = refuse
        self.commands: list[str] = []
        self.port = 0

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        command = next(iter(request))
        self.commands.append(command)
        if command.lower() in ("hello", "ismaster"):
            return _hello(request)
        if self.refuse == "login" and command in ("saslStart", "saslContinue", "authenticate"):
            return AUTH_FAILED
        if self.refuse == "writes" and command in ("createIndexes", "insert", "update"):
            return _unauthorized(command)
        if command == "listIndexes":
            return {"cursor": {"id": 0, "ns": "acq.x", "firstBatch": []}, "ok": 1.0}
        return {"ok": 1.0}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                header = await reader.readexactly(_HEADER.size)
                length, request_id, _, op = _HEADER.unpack(header)
                body = await reader.readexactly(length - _HEADER.size)
                if op == OP_QUERY:  # the handshake: flags, "admin.$cmd\0", skip, return, doc
                    name_end = body.index(b"\0", 4)
                    request = bson.decode(body[name_end + 9 :][: _doc_length(body, name_end + 9)])
                    payload = bson.encode(self.answer(request))
                    reply = struct.pack("<iqii", 0, 0, 0, 1) + payload
                    opcode = OP_REPLY
                elif op == OP_MSG:  # flags, then a kind-0 section holding the command
                    request = bson.decode(body[5 : 5 + _doc_length(body, 5)])
                    reply = struct.pack("<IB", 0, 0) + bson.encode(self.answer(request))
                    opcode = OP_MSG
                else:
                    return
                writer.write(_HEADER.pack(_HEADER.size + len(reply), 0, request_id, opcode))
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def _doc_length(body: bytes, offset: int) -> int:
    return int.from_bytes(body[offset : offset + 4], "little")


@asynccontextmanager
async def refusing_mongo(refuse: str) -> AsyncIterator[RefusingMongo]:
    fake = RefusingMongo(refuse)
    server = await asyncio.start_server(fake._serve, "127.0.0.1", 0)
    fake.port = server.sockets[0].getsockname()[1]
    try:
        yield fake
    finally:
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)
