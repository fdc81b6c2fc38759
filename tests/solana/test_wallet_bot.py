"""``/connect solana`` with the real python-telegram-bot against the local Bot API stand-in:
a pasted secret is deleted from the chat, stored sealed and answered with the public key only;
Create makes a wallet here; bad secrets are refused in plain words; nothing leaks anywhere."""

from __future__ import annotations

import asyncio
from pathlib import Path

from solders.keypair import Keypair

from rampart.operator import investors as inv_store
from rampart.security import wallets
from rampart.security.credential_store import load_credentials
from rampart.security.secrets import KeyBox
from tests.telegram.conftest import ALICE, BOB, TgService


def _written(svc: TgService) -> bytes:
    files = [p for p in svc.tmp_path.iterdir() if p.name.startswith("rampart.")]
    return b"".join(p.read_bytes() for p in files)


def _deleted(svc: TgService) -> int:
    return sum(1 for method, _ in svc.api.calls if method == "deleteMessage")


def test_pasted_secret_is_deleted_stored_and_answered_with_the_public_key(
    tmp_path: Path,
) -> None:
    keypair = Keypair()
    secret, pubkey = str(keypair), str(keypair.pubkey())
    damaged = secret[:-3] + ("222" if secret.endswith("111") else "111")

    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            box = KeyBox.from_text(svc.settings.master_key)  # type: ignore[arg-type]
            await svc.send(ALICE, "/start")
            await svc.press(ALICE, "I accept")
            asked = await svc.send(ALICE, "/connect solana")
            assert "secret key" in asked[-1] and "delete your message" in asked[-1]
            refused = await svc.send(ALICE, damaged)
            assert "does not match" in refused[-1] and "Nothing was saved" in refused[-1]
            assert _deleted(svc) == 1
            assert load_credentials(svc.session.db, box, "tg-101") is None

            await svc.send(ALICE, "/connect solana")
            saved = await svc.send(ALICE, secret)
            assert _deleted(svc) == 2
            assert pubkey in saved[-1] and "saved encrypted" in saved[-1]
            opened = wallets.open_keypair(svc.session.db, box, "tg-101")
            assert opened is not None and opened.pubkey() == keypair.pubkey()
            inv = await inv_store.load(svc.session.db, ALICE)
            assert inv is not None and inv.mode == "solana"

            again = await svc.send(ALICE, "/connect solana")
            assert "connected already" in again[-1] and pubkey in again[-1]

            svc.session.checkpoint()
            replies = repr(svc.api.calls)
            written = _written(svc)
            for text in (secret, damaged):
                assert text not in replies
                assert text.encode() not in written

    asyncio.run(scenario())


def test_create_button_makes_a_wallet_kept_by_the_service(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            box = KeyBox.from_text(svc.settings.master_key)  # type: ignore[arg-type]
            await svc.send(BOB, "/start")
            await svc.press(BOB, "I accept")
            await svc.send(BOB, "/connect")
            await svc.press(BOB, "Solana wallet")
            made = await svc.press(BOB, "Create")
            opened = wallets.open_keypair(svc.session.db, box, "tg-102")
            assert opened is not None
            assert str(opened.pubkey()) in made[-1] and "new Solana wallet" in made[-1]
            assert str(opened) not in repr(svc.api.calls)
            assert str(opened).encode() not in _written(svc)
            assert _deleted(svc) == 0  # nothing secret was ever sent to the chat

    asyncio.run(scenario())
