"""The fixtures agree with the Bot API's field tables: every answer in the documented envelope
and types, every request with documented parameters only, every file naming its source."""

from __future__ import annotations

import pytest

from tests.contracts.telegram.shapes import (
    answer_problems,
    fixture,
    fixture_names,
    request_problems,
)


@pytest.mark.parametrize("name", fixture_names())
def test_a_fixture_is_telegrams_documented_shape(name: str) -> None:
    fx = fixture(name)
    source = fx["_source"]
    assert source["read"] == "2026-11-23"
    assert all(
        url.startswith("https://core.telegram.org/bots/api#") for url in source["documentation"]
    )
    assert source["derived"]
    headers = fx.get("headers")
    assert answer_problems(fx["method"], fx["status"], fx["response"], headers) == []
    if fx["status"] != 404:  # the one request to a method Telegram does not have
        uploads = {
            k: {"filename": v["filename"], "data": b""}
            for k, v in fx["request"].items()
            if k in fx.get("multipart", [])
        }
        assert request_problems(fx["method"], {**fx["request"], **uploads}) == []
