"""The one-line status the service prints: no 1970 date before the first candle."""

from __future__ import annotations

import asyncio

from rampart.loops.terminal_view import status_line

from .helpers import ScriptedAgent, build, candle, feed


def test_the_status_line_says_no_candle_yet_then_the_candles_time() -> None:
    async def main() -> tuple[str, str]:
        engine, _, clock, _ = await build(ScriptedAgent(lambda i, view: []), capital="1000")
        before = status_line(engine)
        await feed(engine, clock, [candle(0, 100, 101, 99, 100)])
        return before, status_line(engine)

    before, after = asyncio.run(main())
    assert before == "[no candle yet] candles 0 | a1 1,000.00 USDT (0 open, 0 trades)"
    assert after.startswith("[1970-01-01 00:01] candles 1 | a1 ")
