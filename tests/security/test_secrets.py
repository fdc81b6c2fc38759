"""AES-GCM credentials at rest: round trip, binding to the account, wrong key, tampering,
rotation (all or nothing), and the CLI."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.domain.errors import ConfigError
from rampart.security.credential_store import (
    delete_credentials,
    load_credentials,
    rotate,
    save_credentials,
)
from rampart.security.secrets import Credentials, KeyBox, SecretsError, generate_key, load_key_box
from rampart.store import models as m
from rampart.store.db import open_database

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


@pytest.fixture
def db(db_url: str) -> sa.Engine:
    engine = open_database(db_url)
    yield engine
    engine.dispose()


def _creds() -> Credentials:
    return Credentials("binance", API_KEY, SECRET)


def test_round_trip_and_nothing_in_plaintext(db: sa.Engine) -> None:
    box = KeyBox.from_text(generate_key())
    save_credentials(db, box, "tg-1", _creds(), 1)
    assert load_credentials(db, box, "tg-1") == _creds()
    with db.connect() as conn:
        row = conn.execute(sa.select(m.credentials)).one()
    assert len(row.nonce) == 12 and row.key_id == box.key_id
    dump = repr(tuple(row)).encode() + bytes(row.ciphertext)
    assert API_KEY.encode() not in dump and SECRET.encode() not in dump
    assert API_KEY not in repr(_creds()) and SECRET not in repr(box)
    assert delete_credentials(db, "tg-1") and load_credentials(db, box, "tg-1") is None


def test_fresh_nonce_per_value() -> None:
    box = KeyBox.from_text(generate_key())
    a, b = box.seal("x", _creds()), box.seal("x", _creds())
    assert a.nonce != b.nonce and a.ciphertext != b.ciphertext


def test_ciphertext_is_bound_to_its_account() -> None:
    box = KeyBox.from_text(generate_key())
    sealed = box.seal("alice", _creds())
    with pytest.raises(SecretsError, match="do not open"):
        box.open("bob", "binance", sealed)


def test_wrong_key_and_tampering_give_a_sentence(db: sa.Engine) -> None:
    box = KeyBox.from_text(generate_key())
    sealed = box.seal("alice", _creds())
    other = KeyBox.from_text(generate_key())
    with pytest.raises(SecretsError, match="another master key"):
        other.open("alice", "binance", dataclasses.replace(sealed))
    flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    with pytest.raises(SecretsError) as err:
        box.open("alice", "binance", dataclasses.replace(sealed, ciphertext=flipped))
    assert API_KEY not in err.value.message and "altered" in err.value.message


def test_key_text_forms(tmp_path: Path) -> None:
    hexkey = generate_key()
    path = tmp_path / "master.key"
    path.write_text(hexkey + "\n")
    assert KeyBox.from_text(f"file:{path}").key_id == KeyBox.from_text(hexkey).key_id
    with pytest.raises(ConfigError, match="64 hex digits"):
        KeyBox.from_text("too-short")
    with pytest.raises(ConfigError, match="RAMPART_MASTER_KEY"):
        load_key_box(None)
    with pytest.raises(ConfigError, match="cannot be read"):
        KeyBox.from_text(f"file:{tmp_path / 'missing'}")


def test_rotate_reseals_everything_or_nothing(db: sa.Engine) -> None:
    old, new = KeyBox.from_text(generate_key()), KeyBox.from_text(generate_key())
    for n in range(3):
        save_credentials(db, old, f"acct-{n}", _creds(), n)
    with db.connect() as conn:
        before = conn.execute(sa.select(m.credentials).order_by("account_id")).all()
    wrong = KeyBox.from_text(generate_key())
    with pytest.raises(SecretsError):
        rotate(db, wrong, new)
    with db.connect() as conn:
        assert conn.execute(sa.select(m.credentials).order_by("account_id")).all() == before
    assert rotate(db, old, new) == 3
    assert all(load_credentials(db, new, f"acct-{n}") == _creds() for n in range(3))
    with pytest.raises(SecretsError):
        load_credentials(db, old, "acct-0")
    assert rotate(db, old, new) == 0  # resumable: already rotated rows are skipped


def test_cli_rotate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    old_key, new_key = generate_key(), generate_key()
    db = open_database(url)
    save_credentials(db, KeyBox.from_text(old_key), "acct", _creds(), 1)
    db.dispose()
    monkeypatch.setenv("RAMPART_STORE__URL", url)
    monkeypatch.setenv("RAMPART_MASTER_KEY", new_key)  # the wrong current key
    monkeypatch.setenv("RAMPART_NEW_MASTER_KEY", generate_key())
    runner = CliRunner()
    bad = runner.invoke(app, ["secrets", "rotate"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output
    assert "master key" in bad.output and old_key not in bad.output
    monkeypatch.setenv("RAMPART_MASTER_KEY", old_key)
    monkeypatch.setenv("RAMPART_NEW_MASTER_KEY", new_key)
    ok = runner.invoke(app, ["secrets", "rotate"])
    assert ok.exit_code == 0, ok.output
    assert "Re-encrypted 1 credential" in ok.output
    db = open_database(url)
    assert load_credentials(db, KeyBox.from_text(new_key), "acct") == _creds()
    db.dispose()
