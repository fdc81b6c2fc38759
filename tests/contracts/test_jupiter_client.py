"""Rampart's Jupiter client against Jupiter's own documented requests and answers
(``tests/contracts/jupiter/``, sources in its SOURCE.md): the base URL and key header, the
query and body fields, every answer parsed, every error in plain words."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from rampart.domain.errors import VenueError
from rampart.venues.solana.routes import JupiterRoute
from rampart.venues.solana.settings import SolanaConfig

from ..solana.client_kit import aio
from .service_double import ServiceDouble
from .shapes import fixture, kind

BASE = "https://api.jup.ag/swap/v1"
KEY = "jup-test-key"


def double() -> ServiceDouble:
    exact_in, exact_out = (
        fixture("jupiter", "quote_exact_in.json"),
        fixture("jupiter", "quote_exact_out.json"),
    )
    swap = fixture("jupiter", "swap.json")

    def quote(seen: object) -> tuple[int, object]:
        mode = getattr(seen, "query", {}).get("swapMode", "ExactIn")
        chosen = exact_out if mode == "ExactOut" else exact_in
        return chosen["status"], chosen["body"]

    return ServiceDouble({("GET", "/quote"): quote, ("POST", "/swap"): (200, swap["body"])})


def test_the_default_address_is_the_current_api_and_a_key_is_a_setting() -> None:
    config = SolanaConfig.model_validate({"jupiter_api_key": KEY})
    assert config.jupiter_url == BASE
    assert config.jupiter_api_key is not None
    assert config.jupiter_api_key.get_secret_value() == KEY
    assert KEY not in repr(config) and KEY not in str(config.model_dump())


def test_listing_jupiter_without_a_key_is_refused_when_the_config_is_read() -> None:
    with pytest.raises(ValidationError) as err:
        SolanaConfig.model_validate({"route": {"routes": ["jupiter"]}})
    assert "jupiter_api_key" in str(err.value)


@aio
async def test_quotes_send_the_documented_query_and_key_and_parse_both_modes() -> None:
    svc = double()
    async with svc.client() as http:
        route = JupiterRoute(BASE, http, KEY)
        documented = fixture("jupiter", "quote_exact_in.json")["request"]
        q = documented["query"]
        quote = await route.quote(
            q["inputMint"], q["outputMint"], int(q["amount"]), "ExactIn", int(q["slippageBps"])
        )
        assert (quote.in_amount, quote.out_amount, quote.threshold) == (
            100000000,
            15043827,
            14893388,
        )
        out = await route.quote(q["outputMint"], q["inputMint"], 500000000, "ExactOut", 50)
        assert (out.in_amount, out.out_amount, out.threshold) == (75312050, 500000000, 75688611)
    first = svc.seen[0]
    assert first.path == "/swap/v1/quote"
    assert first.headers.get("x-api-key") == KEY
    assert set(first.query) <= set(documented["query"]) | {"restrictIntermediateTokens"}
    assert first.query == {k: v for k, v in documented["query"].items()}


@aio
async def test_every_documented_error_is_a_sentence() -> None:
    errors = fixture("jupiter", "errors.json")
    expected = {
        "no_route": "no_route",
        "bad_amount": "refused",
        "no_api_key": "auth",
        "rate_limited": "rate_limited",
    }
    for name, code in expected.items():
        answer = (errors[name]["status"], errors[name]["body"])
        svc = ServiceDouble({("GET", "/quote"): answer})
        async with svc.client() as http:
            route = JupiterRoute(BASE, http, KEY)
            with pytest.raises(VenueError) as err:
                await route.quote("a", "b", 1, "ExactIn", 50)
        assert err.value.code == code, name
        assert err.value.message.startswith("Jupiter") and err.value.message.endswith(".")
        assert KEY not in err.value.message


@aio
async def test_the_swap_answer_parses_and_carries_the_key() -> None:
    svc = double()
    async with svc.client() as http:
        route = JupiterRoute(BASE, http, KEY)
        q = fixture("jupiter", "quote_exact_in.json")["request"]["query"]
        quote = await route.quote(q["inputMint"], q["outputMint"], 100000000, "ExactIn", 100)
        user = fixture("jupiter", "swap.json")["request"]["body"]["userPublicKey"]
        tx, height = await route.swap_transaction(quote, user, 12_345)
    documented = fixture("jupiter", "swap.json")
    assert height == documented["body"]["lastValidBlockHeight"]
    assert bytes(tx) == base64.b64decode(documented["body"]["swapTransaction"])
    assert svc.seen[-1].path == "/swap/v1/swap"
    assert svc.seen[-1].headers.get("x-api-key") == KEY
    body = svc.seen[-1].body
    assert body["quoteResponse"] == fixture("jupiter", "quote_exact_in.json")["body"]
    assert body["userPublicKey"] == user


@aio
async def test_the_swap_request_carries_the_documented_priority_fee_object() -> None:
    svc = double()
    async with svc.client() as http:
        route = JupiterRoute(BASE, http, KEY)
        q = fixture("jupiter", "quote_exact_in.json")["request"]["query"]
        quote = await route.quote(q["inputMint"], q["outputMint"], 100000000, "ExactIn", 100)
        user = fixture("jupiter", "swap.json")["request"]["body"]["userPublicKey"]
        tx, height = await route.swap_transaction(quote, user, 12_345)
    documented = fixture("jupiter", "swap.json")
    assert height == documented["body"]["lastValidBlockHeight"]
    assert bytes(tx) == base64.b64decode(documented["body"]["swapTransaction"])
    body = svc.seen[-1].body
    assert svc.seen[-1].headers.get("x-api-key") == KEY
    assert body["quoteResponse"] == fixture("jupiter", "quote_exact_in.json")["body"]
    assert body["userPublicKey"] == user
    fee = body["prioritizationFeeLamports"]
    assert kind(fee) == "object", "the v1 API documents an object, not a bare integer"
    level = fee["priorityLevelWithMaxLamports"]
    assert level["maxLamports"] == 12_345 and level["priorityLevel"] in (
        "medium",
        "high",
        "veryHigh",
    )
    documented_keys = set(documented["request"]["body"]) | {
        "payer",
        "useSharedAccounts",
        "feeAccount",
        "trackingAccount",
        "asLegacyTransaction",
        "destinationTokenAccount",
        "nativeDestinationAccount",
        "skipUserAccountsRpcCalls",
        "dynamicSlippage",
        "computeUnitPriceMicroLamports",
        "blockhashSlotsToExpiry",
    }
    assert set(body) <= documented_keys
