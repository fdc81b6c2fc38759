"""ApiServer: serves in the caller's event loop on a free port, finishes requests in flight when
told to stop, and says in a sentence when its port is taken; unexpected errors are a bare 500."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from fastapi import FastAPI

from rampart.api import errors
from rampart.api.server import ApiServer
from rampart.domain.errors import RampartError


def _app(release: asyncio.Event, entered: asyncio.Event) -> FastAPI:
    app = FastAPI()
    errors.install(app)

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        entered.set()
        await release.wait()
        return {"done": "yes"}

    @app.get("/boom")
    async def boom() -> dict[str, str]:
        raise ZeroDivisionError("secret internals")

    return app


def test_port_zero_serves_and_a_request_in_flight_finishes_after_stop() -> None:
    async def scenario() -> None:
        release, entered, stop = asyncio.Event(), asyncio.Event(), asyncio.Event()
        beats: list[int] = []
        server = ApiServer(_app(release, entered), "127.0.0.1", 0)
        port = server.bind()
        assert port > 0 and server.port == port and server.url.endswith(f":{port}")
        serving = asyncio.create_task(server.serve(stop, beat=lambda: beats.append(1)))
        await server.started.wait()
        async with httpx.AsyncClient(base_url=server.url) as client:
            pending = asyncio.create_task(client.get("/slow"))
            await entered.wait()
            stop.set()  # shut down while /slow is still being answered
            await asyncio.sleep(0.05)
            release.set()
            response = await pending
            assert response.json() == {"done": "yes"}
            await serving
            with pytest.raises(httpx.ConnectError):
                await client.get("/slow")
        assert beats, "the server beats while it serves"
        assert not server.started.is_set()

    asyncio.run(scenario())


def test_a_taken_port_is_a_sentence() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.raises(RampartError) as caught:
            ApiServer(FastAPI(), "127.0.0.1", port).bind()
        assert caught.value.message == (
            f"Port {port} on 127.0.0.1 is already in use; set 'api.port' to another port or "
            "stop the program using it."
        )
    finally:
        taken.close()


def test_an_unexpected_error_is_a_500_without_details() -> None:
    async def scenario() -> httpx.Response:
        stop = asyncio.Event()
        server = ApiServer(_app(asyncio.Event(), asyncio.Event()), "127.0.0.1", 0)
        serving = asyncio.create_task(server.serve(stop))
        await server.started.wait()
        try:
            async with httpx.AsyncClient(base_url=server.url) as client:
                return await client.get("/boom")
        finally:
            stop.set()
            await serving

    response = asyncio.run(scenario())
    assert response.status_code == 500
    assert response.json() == {"error": "Something went wrong on our side; it has been logged."}
    assert "secret" not in response.text and "Traceback" not in response.text


def test_the_server_can_serve_again_after_a_stop() -> None:
    async def scenario() -> None:
        server = ApiServer(_app(asyncio.Event(), asyncio.Event()), "127.0.0.1", 0)
        for _ in range(2):
            stop = asyncio.Event()
            serving = asyncio.create_task(server.serve(stop))
            await server.started.wait()
            async with httpx.AsyncClient(base_url=server.url) as client:
                assert (await client.get("/nowhere")).status_code == 404
            stop.set()
            await serving

    asyncio.run(scenario())
