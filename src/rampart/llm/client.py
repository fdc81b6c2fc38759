"""An OpenAI-compatible chat-completions client that fails in one typed error.

``POST {base_url}/chat/completions`` with ``response_format: json_object``. 429 and 5xx are
retried with exponential backoff slept on the Clock (``Retry-After`` honoured, capped); a
timeout is not retried, because a decision that arrives late is worth nothing. The API key
goes only into the Authorization header: no error message or log line carries it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from rampart.clock import Clock
from rampart.domain.errors import RampartError
from rampart.runtime.backoff import ceiling_s

TIMEOUT, RATE_LIMITED, SERVER, REFUSED, TRANSPORT, MALFORMED = (
    "timeout",
    "rate_limited",
    "server_error",
    "refused",
    "transport",
    "malformed",
)


class LlmError(RampartError):
    """The endpoint did not give an answer. ``code`` is one of this module's names."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Completion:
    content: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    attempts: int


class LlmClient:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: SecretStr | str,
        model: str,
        clock: Clock,
        timeout_s: float = 10.0,
        retries: int = 2,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.model = model
        self.clock = clock
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def complete(self, messages: Sequence[dict[str, str]]) -> Completion:
        body = {
            "model": self.model,
            "messages": list(messages),
            "response_format": {"type": "json_object"},
            "temperature": 0,
        }
        started = time.perf_counter()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.post("/chat/completions", json=body)
            except httpx.TimeoutException:
                raise LlmError("The LLM endpoint did not answer in time.", TIMEOUT) from None
            except httpx.HTTPError as exc:
                error = LlmError(
                    f"The LLM endpoint cannot be reached ({type(exc).__name__}).", TRANSPORT
                )
                delay = self._delay(attempt, None)
            else:
                status = response.status_code
                if status < 400:
                    return self._completion(response, started, attempt)
                if status != 429 and status < 500:
                    raise LlmError(
                        f"The LLM endpoint refused the request (HTTP {status}).", REFUSED
                    )
                code = RATE_LIMITED if status == 429 else SERVER
                error = LlmError(f"The LLM endpoint answered HTTP {status}.", code)
                delay = self._delay(attempt, response.headers.get("retry-after"))
            if attempt > self.retries:
                raise error
            await self.clock.sleep(delay)

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after is not None:
            try:
                return min(max(float(retry_after), 0.0), self.max_backoff_s)
            except ValueError:
                pass  # an HTTP date: fall back to our own backoff
        return ceiling_s(attempt - 1, self.backoff_s, self.max_backoff_s)

    def _completion(self, response: httpx.Response, started: float, attempts: int) -> Completion:
        try:
            data = response.json()
            content = data["choices"][0]["message"]["content"]
            usage = data.get("usage") or {}
            prompt = int(usage.get("prompt_tokens", 0))
            completion = int(usage.get("completion_tokens", 0))
        except (ValueError, KeyError, IndexError, TypeError):
            raise LlmError(
                "The LLM endpoint's answer is not a chat completion.", MALFORMED
            ) from None
        if not isinstance(content, str):
            raise LlmError("The LLM endpoint's answer has no message content.", MALFORMED)
        return Completion(content, prompt, completion, time.perf_counter() - started, attempts)
