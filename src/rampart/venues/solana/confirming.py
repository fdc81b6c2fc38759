"""How the venue waits for a sent attempt: told by a signature subscription when one is open
(:mod:`~rampart.venues.solana.sigwatch`), polling ``getSignatureStatuses`` otherwise.

While an attempt's subscription is open the two race (``confirm_race``, on by default): its
status is polled every ``confirm_poll_s`` as without a websocket, and the wait between polls
ends early when the node tells, so the fill is known from whichever comes first (a node's
PubSub often runs behind its RPC). With the race off, it is polled only every
``confirm_fallback_s`` while the subscription is open (fewer RPC calls; a silent websocket
costs at most that). Once told, or once the socket is lost, the attempt is polled every
``confirm_poll_s``. Either way the status is read from the RPC at the venue's commitment: a
notification only says when to read it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from rampart.venues.solana.settings import SolanaConfig
from rampart.venues.solana.sigwatch import SignatureWatch, Watched


class Confirmations:
    def __init__(
        self,
        watch: SignatureWatch | None,
        poll_s: float,
        fallback_s: float,
        sleep: Callable[[float], Awaitable[None]],
        race: bool = True,
    ) -> None:
        self.watch = watch
        self.poll_s = poll_s
        self.race = race
        self.fallback_every = max(1, round(fallback_s / poll_s))
        self.sleep = sleep
        self._open: dict[str, Watched] = {}
        """Client id → its current attempt's subscription (one per order: a new attempt's
        replaces the last, which can no longer land)."""

    @classmethod
    def of(
        cls,
        config: SolanaConfig,
        timer: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
    ) -> Confirmations:
        """The venue's: a websocket when ``ws_urls`` names one, its timeouts the RPC's."""
        watch = None
        if config.ws_urls:
            watch = SignatureWatch(
                config.ws_urls,
                commitment=config.commitment,
                timeout_s=config.request_timeout_s,
                timer=timer,
            )
        return cls(
            watch, config.confirm_poll_s, config.confirm_fallback_s, sleep, config.confirm_race
        )

    async def subscribe(self, client_id: str, signature: str) -> None:
        """Before an attempt is sent: its subscription, if a websocket is available."""
        await self.done(client_id)
        if self.watch is None:
            return
        watched = await self.watch.watch(signature)
        if watched is not None:
            self._open[client_id] = watched

    def due(self, client_id: str, tick: int) -> bool:
        """Whether the attempt's status is read on this tick of the wait."""
        watched = self._open.get(client_id)
        if self.race or watched is None or watched.told or watched.lost:
            return True
        return (tick + 1) % self.fallback_every == 0

    async def wait(self, client_id: str) -> None:
        """One ``confirm_poll_s`` nap, cut short when the node tells."""
        watched = self._open.get(client_id)
        if watched is None or watched.event.is_set():
            await self.sleep(self.poll_s)
            return
        told = asyncio.ensure_future(watched.event.wait())
        nap = asyncio.ensure_future(self.sleep(self.poll_s))
        try:
            await asyncio.wait({told, nap}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (told, nap):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def done(self, client_id: str) -> None:
        """The order is no longer waited on: its subscription, if still open, is dropped."""
        watched = self._open.pop(client_id, None)
        if watched is not None and self.watch is not None:
            await self.watch.forget(watched)

    async def aclose(self) -> None:
        if self.watch is not None:
            await self.watch.aclose()


__all__ = ["Confirmations"]
