"""Keypairs: every accepted form parses to the same key, a route's transaction for another
fee payer is refused, and the secret never shows in a repr, a log line, a report or an error."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import structlog
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.null_signer import NullSigner
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from structlog.testing import capture_logs

from rampart.domain.errors import ConfigError, VenueError
from rampart.domain.orders import Side
from rampart.venues.solana.signing import Wallet, parse_keypair, sign

from .venue_kit import Desk, order, with_desk

PROGRAM = Pubkey.from_string("JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4")


@contextmanager
def every_log_level() -> Iterator[None]:
    """The suite logs errors only; every level is wanted while secrets are looked for. The
    suite's level comes back even when the block fails, so later tests are not flooded."""
    quiet = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        yield
    finally:
        structlog.configure(wrapper_class=quiet)


def test_the_log_level_comes_back_after_a_failure() -> None:
    before = structlog.get_config()["wrapper_class"]
    with pytest.raises(RuntimeError), every_log_level():
        assert structlog.get_config()["wrapper_class"] is not before
        raise RuntimeError("boom")
    assert structlog.get_config()["wrapper_class"] is before


def _unsigned(payer: Pubkey) -> VersionedTransaction:
    ix = Instruction(PROGRAM, b"q1", [])
    msg = MessageV0.try_compile(payer, [ix], [], Hash.default())
    return VersionedTransaction(msg, [NullSigner(payer)])


def test_every_secret_form_gives_the_same_keypair(tmp_path: Path) -> None:
    kp = Keypair()
    array = json.dumps(list(bytes(kp)))
    key_file = tmp_path / "id.json"
    key_file.write_text(array)
    for secret in (str(kp), array, f"file:{key_file}"):
        assert parse_keypair(secret).pubkey() == kp.pubkey()


@pytest.mark.parametrize("bad", ["nonsense", "[1,2,3]", "file:/no/such/key.json", ""])
def test_a_bad_secret_is_one_sentence_that_does_not_echo_it(bad: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_keypair(bad)
    assert "\n" not in err.value.message
    if bad and not bad.startswith("file:"):
        assert bad not in err.value.message


def test_the_wallet_signs_only_as_its_own_fee_payer() -> None:
    kp = Keypair()
    signed = sign(_unsigned(kp.pubkey()), kp)
    assert signed.verify_with_results() == [True]
    with pytest.raises(VenueError) as err:
        sign(_unsigned(Keypair().pubkey()), kp)
    assert err.value.code == "foreign_fee_payer"
    assert err.value.message == (
        "The swap transaction names another fee payer than this wallet; it was not signed."
    )


def test_a_secret_for_another_public_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="does not belong"):
        Wallet.from_secret(str(Keypair()), expected_pubkey=str(Keypair().pubkey()))


def test_the_secret_never_shows_in_reprs_logs_reports_or_errors() -> None:
    async def body(desk: Desk) -> None:
        secret = str(desk.keypair)
        array = json.dumps(list(bytes(desk.keypair)))
        texts: list[str] = []
        with every_log_level(), capture_logs() as logs:
            desk.sim.add_fault("http5xx", count=2, node="a")
            await desk.venue.submit(order("b1", Side.BUY, "0.1"))
            try:
                await desk.venue.connect_account("alice", desk.pubkey, secret)
            except ConfigError as exc:
                texts.append(exc.message)
            try:
                await desk.venue.connect_account("bob", str(Keypair().pubkey()), secret)
            except ConfigError as exc:
                texts.append(exc.message)
        assert len(texts) == 2 and desk.fills()
        texts += [repr(desk.venue), repr(desk.venue._wallets), str(desk.venue._wallets["alice"])]
        texts += [repr(r) for r in desk.reports]
        texts += [repr(e) for e in logs]
        texts += [repr(await desk.journal.for_client("b1"))]
        texts.append(repr(desk.venue.config))
        blob = "\n".join(texts)
        assert logs  # the failover was logged
        assert secret not in blob and array not in blob and secret[:20] not in blob
        assert desk.pubkey in repr(desk.venue._wallets["alice"])

    with_desk(body, route={"routes": ["jupiter"]})
