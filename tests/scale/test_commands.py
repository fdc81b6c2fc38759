"""Commands to every worker over a real NATS JetStream server of the test's own: a
kill switch reaches three workers and each answers; a worker cut off from NATS is named within
the wait and applies the command once it is back; the heartbeat tells a worker it is cut off on
its own clock; bad input is one sentence."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from rampart.clock import SimClock
from rampart.domain.errors import ConfigError
from rampart.messaging.commands import COMMAND, Command, CommandReceiver, CommandSender
from rampart.messaging.nats_link import STREAM, NatsUnavailable, command_stream, connect
from tests.scale.nats_server import NatsServer, nats_server

WAIT_S = 0.5
"""How long the sender waits for a missing worker in these tests (2 s in the service)."""


class Worker:
    """A worker's end of the command stream, recording what it applied."""

    def __init__(self, name: str, clock: SimClock) -> None:
        self.name = name
        self.clock = clock
        self.applied: list[Command] = []
        self.nc: Any = None
        self.receiver: CommandReceiver | None = None

    async def apply(self, command: Command) -> str:
        self.applied.append(command)
        return f"{command.kind} applied on {self.name}"

    async def join(self, url: str) -> CommandReceiver:
        self.nc = await connect(url, self.name)
        js = await command_stream(self.nc)
        self.receiver = CommandReceiver(self.nc, js, self.name, self.clock, self.apply, 5.0)
        await self.receiver.start()
        return self.receiver

    async def leave(self) -> None:
        if self.receiver is not None:
            await self.receiver.stop()
        await self.nc.close()


async def _until(check: Any, what: str) -> None:
    """Yield to the event loop until ``check()`` holds (NATS delivers on it); bounded."""
    for _ in range(2_000):
        if check():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never happened: {what}")


async def _unbound(sender: CommandSender, durable: str) -> None:
    """Wait until the server has seen the worker's subscription go. A command published
    before that may be pushed to the closing connection and come again only after the
    consumer's ack wait (30 s): what a real cut-off worker gets, but not what this test is
    about."""
    for _ in range(2_000):
        info = await sender.js.consumer_info(STREAM, durable)
        if not info.push_bound:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"the server still delivers to {durable}")


def test_a_kill_reaches_every_worker_and_a_cut_off_one_is_named_then_catches_up(
    tmp_path: Path,
) -> None:
    async def scenario(server: NatsServer) -> None:
        clock = SimClock(1_000)
        workers = [Worker(f"w{n}", clock) for n in range(3)]
        for worker in workers:
            await worker.join(server.url)
        nc = await connect(server.url, "api")
        sender = CommandSender(nc, await command_stream(nc), clock)
        names = [w.name for w in workers]

        kill = await sender.send("kill", {"reason": "drill", "flatten": False}, names)
        assert kill.complete, kill.sentence()
        assert kill.answers == {n: f"kill applied on {n}" for n in names}
        assert [[c.kind for c in w.applied] for w in workers] == [["kill"]] * 3

        # w2 is cut off: the sender names it within the wait, the others apply at once.
        await workers[2].leave()
        await _unbound(sender, "worker-w2")
        pause = await sender.send("pause", {"account": "a1"}, names, timeout_s=WAIT_S)
        assert pause.missing == {"w2"} and set(pause.answers) == {"w0", "w1"}
        assert "w2 has not applied it yet" in pause.sentence()

        # Back on its durable consumer, w2 applies what it missed, once.
        back = Worker("w2", clock)
        await back.join(server.url)
        await _until(lambda: [c.kind for c in back.applied] == ["pause"], "w2 caught up")
        assert back.applied[0].payload == {"account": "a1"}
        assert [c.kind for c in workers[0].applied] == ["kill", "pause"]

        # A redelivered command is not applied twice (the id is remembered).
        assert back.receiver is not None
        again = Command(back.applied[0].id, "pause", {"account": "a1"}, 1_000)
        await sender.js.publish(COMMAND + "pause", again.encode(), stream=STREAM)
        resume = await sender.send("resume", {"account": "a1"}, ["w0", "w1", "w2"])
        assert resume.complete
        assert [c.kind for c in back.applied] == ["pause", "resume"]

        for worker in (workers[0], workers[1], back):
            await worker.leave()
        await nc.close()

    with nats_server(tmp_path / "js") as server:
        asyncio.run(scenario(server))


def test_a_worker_that_hears_no_heartbeat_knows_it_is_cut_off(tmp_path: Path) -> None:
    async def scenario(server: NatsServer) -> None:
        clock = SimClock(0)
        worker = Worker("w0", clock)
        receiver = await worker.join(server.url)
        nc = await connect(server.url, "api")
        sender = CommandSender(nc, await command_stream(nc), clock)
        assert receiver.stale  # nothing heard yet: no new positions

        await sender.heartbeat()
        await _until(lambda: not receiver.stale, "the heartbeat arrived")
        clock.advance(5_000)  # stale_s, exactly: still fresh
        assert not receiver.stale
        clock.advance(1)
        assert receiver.stale
        await sender.heartbeat()
        await _until(lambda: not receiver.stale, "fresh again")

        # Garbage on the stream is refused and acknowledged; the next command still applies.
        await sender.js.publish(COMMAND + "kill", b"{not json", stream=STREAM)
        done = await sender.send("kill", {"reason": "after garbage"}, ["w0"])
        assert done.complete and receiver.refused == 1
        assert [c.payload["reason"] for c in worker.applied] == ["after garbage"]
        await worker.leave()
        await nc.close()

    with nats_server(tmp_path / "js") as server:
        asyncio.run(scenario(server))


def test_no_nats_and_a_stream_with_the_wrong_retention_are_one_sentence(tmp_path: Path) -> None:
    async def scenario(server: NatsServer) -> None:
        nowhere = re.escape("NATS does not answer at nats://127.0.0.1:1 ")
        with pytest.raises(NatsUnavailable, match=nowhere):
            await connect("nats://127.0.0.1:1", "worker", reconnect=False)
        nc = await connect(server.url, "operator")
        js = nc.jetstream()
        from nats.js.api import RetentionPolicy, StreamConfig

        await js.add_stream(
            StreamConfig(
                name=STREAM, subjects=["rampart.cmd.>"], retention=RetentionPolicy.WORK_QUEUE
            )
        )
        with pytest.raises(ConfigError, match="exists with workqueue retention"):
            await command_stream(nc)
        info = await js.stream_info(STREAM)
        assert info.config.retention == RetentionPolicy.WORK_QUEUE  # nothing was changed
        await nc.close()

    with nats_server(tmp_path / "js") as server:
        asyncio.run(scenario(server))
