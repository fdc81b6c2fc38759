"""Commands to every worker over JetStream, answered by an acknowledgement from each.

The sender publishes a command on the stream (``rampart.cmd.<kind>``, de-duplicated by its id)
and collects the workers' acknowledgements on ``rampart.ack.<id>`` (plain NATS: an
acknowledgement matters only while someone waits for it). :meth:`CommandSender.send` returns
once every expected worker has answered, or after ``timeout_s`` naming the ones that have not:
the API then says which worker has not applied a kill switch yet, instead of saying "done".

Each worker reads the stream on a durable consumer of its own, so a worker cut off from NATS
applies, when it is back, every command it missed, in order, and each once (ids already
applied are skipped on redelivery). The sender also publishes a heartbeat (plain NATS) every
second or so; a worker that has not heard one for ``stale_s`` on its clock is cut off from
commands and must stop opening positions (:attr:`CommandReceiver.stale`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import structlog

from rampart.clock import Clock
from rampart.domain.errors import RampartError
from rampart.extras import require
from rampart.messaging.nats_link import STREAM

log = structlog.get_logger("rampart.messaging")

COMMAND = "rampart.cmd."
ACK = "rampart.ack."
HEARTBEAT = "rampart.heartbeat.commands"
REMEMBERED = 10_000
CHECK_TIMEOUT_S = 2.0
"""The longest a check of the command consumer waits for NATS."""
"""Command ids a worker remembers having applied (a redelivery of one is skipped)."""


class BadCommand(RampartError):
    """A message on the command stream that is not a command."""


@dataclass(frozen=True, slots=True)
class Command:
    id: str
    kind: str
    payload: dict[str, Any]
    issued_ms: int

    def encode(self) -> bytes:
        body = {"id": self.id, "kind": self.kind, "payload": self.payload, "ts": self.issued_ms}
        return json.dumps(body, sort_keys=True).encode()

    @classmethod
    def decode(cls, data: bytes) -> Command:
        try:
            body = json.loads(data)
            command = cls(
                str(body["id"]), str(body["kind"]), dict(body["payload"]), int(body["ts"])
            )
        except (ValueError, KeyError, TypeError) as err:
            raise BadCommand(f"Not a command ({type(err).__name__}): {data[:80]!r}.") from err
        if not command.id or not command.kind.isidentifier():
            raise BadCommand(f"A command needs an id and a kind: {data[:80]!r}.")
        return command


@dataclass(frozen=True, slots=True)
class FanOut:
    """What the workers answered to one command."""

    command: Command
    answers: dict[str, str] = field(default_factory=dict)
    """Worker → what it said it did."""
    missing: frozenset[str] = frozenset()
    """Workers expected that did not answer in time."""

    @property
    def complete(self) -> bool:
        return not self.missing

    def sentence(self) -> str:
        if self.complete:
            return f"Every worker applied {self.command.kind} ({len(self.answers)})."
        names = ", ".join(sorted(self.missing))
        return (
            f"{self.command.kind} is on the command stream, but {names} has not applied it yet "
            f"({len(self.answers)} of {len(self.answers) + len(self.missing)} have); it will "
            "when it reads the stream again."
        )


class CommandSender:
    def __init__(
        self,
        nc: Any,
        js: Any,
        clock: Clock,
        recreate: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        self.nc = nc
        self.js = js
        self.clock = clock
        self.recreate = recreate
        """Creates the command stream again when it is gone (its JetStream context)."""
        self.carry: Callable[[], dict[str, str]] | None = None
        """More headers for each command (a trace's ``traceparent``), set by the wiring."""

    async def send(
        self,
        kind: str,
        payload: dict[str, Any],
        expect: Iterable[str],
        timeout_s: float = 2.0,
    ) -> FanOut:
        """Publish a command and wait up to ``timeout_s`` for every worker in ``expect``."""
        command = Command(uuid.uuid4().hex, kind, payload, self.clock.now_ms())
        expected = set(expect)
        answers: dict[str, str] = {}
        everyone = asyncio.Event()

        async def answered(msg: Any) -> None:
            try:
                said = json.loads(msg.data)
                answers[str(said["worker"])] = str(said["result"])
            except (ValueError, KeyError, TypeError):
                log.warning("command_ack_unreadable", command=command.id)
                return
            if expected <= answers.keys():
                everyone.set()

        # Listening before publishing: a fast worker's answer is never missed.
        sub = await self.nc.subscribe(ACK + command.id, cb=answered)
        try:
            headers = {"Nats-Msg-Id": command.id}
            if self.carry is not None:
                headers.update(self.carry())
            await self._publish(command, headers)
            if expected and not expected <= answers.keys():
                with contextlib.suppress(TimeoutError):  # the missing are named below
                    await asyncio.wait_for(everyone.wait(), timeout_s)
        finally:
            await sub.unsubscribe()
        missing = frozenset(expected - answers.keys())
        if missing:
            log.warning(
                "command_not_applied", kind=kind, command=command.id, missing=sorted(missing)
            )
        return FanOut(command, dict(answers), missing)

    async def _publish(self, command: Command, headers: dict[str, str]) -> None:
        """Onto the stream; a stream that is gone (a nats-server that lost its store answers
        "no responders") is created again through ``recreate`` and the command sent once more,
        so a kill switch is never lost to an empty store."""
        nats_errors = require("scale", "nats.errors")
        js_errors = require("scale", "nats.js.errors")
        subject, data = COMMAND + command.kind, command.encode()
        try:
            await self.js.publish(subject, data, stream=STREAM, headers=headers)
        except (nats_errors.NoRespondersError, js_errors.NoStreamResponseError):
            if self.recreate is None:
                raise
            log.warning("command_stream_recreated", command=command.id)
            self.js = await self.recreate()
            await self.js.publish(subject, data, stream=STREAM, headers=headers)

    async def heartbeat(self) -> None:
        """Tell the workers the command stream's sender is alive (plain NATS, not stored)."""
        await self.nc.publish(HEARTBEAT, str(self.clock.now_ms()).encode())


Apply = Callable[[Command], Awaitable[str]]
"""What a worker does with a command; returns what it did, in a few words."""


class CommandReceiver:
    """A worker's end: applies each command once, answers, and watches the heartbeat."""

    def __init__(
        self,
        nc: Any,
        js: Any,
        worker: str,
        clock: Clock,
        apply: Apply,
        stale_s: float,
        recreate: Callable[[], Awaitable[Any]] | None = None,
    ):
        self.nc = nc
        self.js = js
        self.recreate = recreate
        """Creates the command stream again when it is gone (its JetStream context)."""
        self.resubscribed = 0
        """Times its consumer was found gone (the stream lost) and made again."""
        self.worker = worker
        self.clock = clock
        self.apply = apply
        self.stale_s = stale_s
        self.applied: OrderedDict[str, None] = OrderedDict()
        self.refused = 0
        """Messages on the stream that were not commands (acknowledged and dropped)."""
        self.heard_ms: int | None = None
        self.heard = asyncio.Event()
        """Set at each heartbeat (clear it, then wait on it, to know the next has arrived)."""
        self._subs: list[Any] = []
        self._commands: Any = None
        """The subscription of its durable consumer on the command stream."""
        self.headers: dict[str, str] | None = None
        """The headers of the command being applied (its trace's ``traceparent``)."""

    @property
    def durable(self) -> str:
        return "worker-" + self.worker.replace(".", "-")

    async def start(self) -> None:
        await self._subscribe()
        self._subs.append(await self.nc.subscribe(HEARTBEAT, cb=self._on_heartbeat))

    async def _subscribe(self, *, everything: bool = False) -> None:
        """``everything``: read the whole stream (a consumer made again on a stream created
        again holds only commands this worker missed; those it applied are skipped by id)."""
        api = require("scale", "nats.js.api")
        config = api.ConsumerConfig(ack_wait=30.0, max_deliver=-1)
        self._commands = await self.js.subscribe(
            COMMAND + ">",
            durable=self.durable,
            stream=STREAM,
            cb=self._on_command,
            manual_ack=True,
            config=config,
            deliver_policy=api.DeliverPolicy.ALL if everything else api.DeliverPolicy.NEW,
        )

    async def check(self) -> bool:
        """Make the consumer again when it is gone with its stream (a nats-server that lost its
        store: commands would never reach this worker while its heartbeat still does). The
        stream is created again through ``recreate``; the new consumer reads every command it
        holds (all sent since the loss). Whether it subscribed again. NATS away is not a loss."""
        errors = require("scale", "nats.js.errors")
        nats_errors = require("scale", "nats.errors")
        try:
            await asyncio.wait_for(self.js.consumer_info(STREAM, self.durable), CHECK_TIMEOUT_S)
            return False
        except errors.NotFoundError:
            pass
        except (TimeoutError, nats_errors.Error, errors.Error) as err:
            log.debug("command_stream_unchecked", worker=self.worker, error=type(err).__name__)
            return False
        if self.recreate is not None:
            self.js = await self.recreate()
        log.warning("command_consumer_recreated", worker=self.worker)
        old, self._commands = self._commands, None
        if old is not None:
            with contextlib.suppress(Exception):  # its consumer is gone already
                await old.unsubscribe()
        await self._subscribe(everything=True)
        self.resubscribed += 1
        return True

    async def stop(self) -> None:
        if self._commands is not None:
            with contextlib.suppress(Exception):  # a closed connection has none left to end
                await self._commands.unsubscribe()
            self._commands = None
        for sub in self._subs:
            try:
                await sub.unsubscribe()
            except Exception:  # a closed connection has no subscription left to end
                log.debug("command_unsubscribe_failed", worker=self.worker)
        self._subs.clear()

    @property
    def stale(self) -> bool:
        """No heartbeat for ``stale_s``: commands may not be reaching this worker."""
        heard = self.heard_ms
        return heard is None or self.clock.now_ms() - heard > self.stale_s * 1000

    async def _on_heartbeat(self, msg: Any) -> None:
        del msg
        self.heard_ms = self.clock.now_ms()
        self.heard.set()

    async def _on_command(self, msg: Any) -> None:
        try:
            command = Command.decode(msg.data)
        except BadCommand as err:
            self.refused += 1
            log.warning("command_refused", worker=self.worker, error=err.message)
            await msg.ack()  # never redelivered: it will not become a command
            return
        if command.id in self.applied:
            result = "already applied"
        else:
            self.headers = getattr(msg, "headers", None)
            try:
                result = await self.apply(command)
            except RampartError as err:
                result = f"refused: {err.message}"
            self.applied[command.id] = None
            if len(self.applied) > REMEMBERED:
                self.applied.popitem(last=False)
        answer = {"worker": self.worker, "result": result}
        await self.nc.publish(ACK + command.id, json.dumps(answer).encode())
        await msg.ack()


__all__ = [
    "ACK",
    "COMMAND",
    "HEARTBEAT",
    "Apply",
    "BadCommand",
    "Command",
    "CommandReceiver",
    "CommandSender",
    "FanOut",
]
