"""The CA server itself: replies leave without waiting for delayed ACKs (TCP_NODELAY)."""

from __future__ import annotations

import asyncio
import socket

from caproto.server import PVGroup, pvproperty

from iocs.server import NoDelayContext


class _OnePV(PVGroup):
    x = pvproperty(value=1.0)


async def _accepted_socket_nodelay() -> int:
    context = NoDelayContext(_OnePV(prefix="nodelay:").pvdb, ["127.0.0.1"])
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        await context.server_accept_loop(listener)
        _, writer = await asyncio.open_connection(*listener.getsockname())
        try:
            async with asyncio.timeout(5):
                while not context.circuits:
                    await asyncio.sleep(0.01)
            (circuit,) = context.circuits
            accepted = circuit.client.writer.get_extra_info("socket")
            return accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        finally:
            writer.close()
            for server in context.tcp_servers:
                server.close()


def test_every_accepted_connection_has_tcp_nodelay():
    # its own loop: asyncio.run also ends the circuit tasks caproto starts per client
    assert asyncio.run(_accepted_socket_nodelay()) == 1
