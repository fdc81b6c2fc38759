"""Telegram's flood limits as the Bot API stand-in keeps them: one message a second in a chat,
thirty a second overall, twenty a minute in a group, answered 429 with ``retry_after`` in whole
seconds (the Bot API server's set_retry_after_error)."""

from __future__ import annotations

import math
from collections import deque

from aiohttp import web

CHAT_GAP_MS = 1_000
"""One message a second in a chat."""
OVERALL_PER_S = 30
"""Thirty messages a second to all chats together."""
GROUP_PER_MIN = 20
"""Twenty messages a minute in one group."""


def flood_wait(
    accepted: deque[tuple[int, int]], last_in_chat: dict[int, int], chat: int, now: int
) -> int | None:
    """Seconds a message to ``chat`` must wait at ``now`` (ms), or None when it may go;
    ``accepted`` holds (ms, chat id) of the messages accepted lately (older than a minute are
    dropped here)."""
    while accepted and accepted[0][0] <= now - 60_000:
        accepted.popleft()
    waits = []
    last = last_in_chat.get(chat)
    if last is not None and now - last < CHAT_GAP_MS:
        waits.append(last + CHAT_GAP_MS - now)
    second = [ts for ts, _ in accepted if ts > now - 1_000]
    if len(second) >= OVERALL_PER_S:
        waits.append(second[-OVERALL_PER_S] + 1_000 - now)
    if chat < 0:
        minute = [ts for ts, c in accepted if c == chat]
        if len(minute) >= GROUP_PER_MIN:
            waits.append(minute[-GROUP_PER_MIN] + 60_000 - now)
    # Telegram says whole seconds, rounded up.
    return max(1, math.ceil(max(waits) / 1000)) if waits else None


def too_many(retry: int) -> web.Response:
    """Telegram's flood answer (the Bot API server's set_retry_after_error and its header)."""
    body = {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry}",
        "parameters": {"retry_after": retry},
    }
    return web.json_response(body, status=429, headers={"Retry-After": str(retry)})
