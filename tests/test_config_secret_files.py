"""Secrets from files mounted as secrets ("none needs to sit in an env file").

``RAMPART_<NAME>_FILE`` and ``RAMPART_SECRETS_DIR`` give every secret setting its value from a
file, its trailing line break dropped; the PostgreSQL password comes apart from the URL
(``store.password``); a missing, unreadable or empty file is one sentence naming the variable
and exit code 2, never the secret and never a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.config import load_settings
from rampart.domain.errors import ConfigError

TOKEN = "123456:AAE-telegram-token-from-a-file"
PG = "postgresql+psycopg://rampart@postgres:5432/rampart"


@pytest.fixture(autouse=True)
def _here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./rampart.yaml of the checkout's
    for name in list(os.environ):
        if name.upper().startswith("RAMPART_"):
            monkeypatch.delenv(name)


def _secret(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def _bytes(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def test_every_kind_of_secret_comes_from_a_file_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "RAMPART_TELEGRAM_TOKEN_FILE": TOKEN + "\n",
        "RAMPART_TELEGRAM__WEBHOOK_SECRET_FILE": "hook-secret\r\n",
        "RAMPART_MASTER_KEY_FILE": "master\n",
        "RAMPART_VAULT__TOKEN_FILE": "vault-token",
        "RAMPART_STORE__PASSWORD_FILE": "p@ss/word\n",
        "RAMPART_VENUE__CREDENTIALS__ALICE__API_KEY_FILE": "alice-key\n",
        "RAMPART_VENUE__CREDENTIALS__ALICE__SECRET_FILE": "alice-secret\n",
    }
    for n, (name, text) in enumerate(files.items()):
        monkeypatch.setenv(name, _secret(tmp_path / f"s{n}", text))
    monkeypatch.setenv("RAMPART_STORE__URL", PG)
    s = load_settings()
    assert s.telegram_token is not None and s.telegram_token.get_secret_value() == TOKEN
    hook = s.telegram.webhook_secret
    assert hook is not None and hook.get_secret_value() == "hook-secret"
    assert s.master_key is not None and s.master_key.get_secret_value() == "master"
    assert s.vault.token is not None and s.vault.token.get_secret_value() == "vault-token"
    # The password goes into the URL, quoted as a URL needs; the URL's shown form hides it.
    assert make_url(s.store.url).password == "p@ss/word"
    alice = s.venue.credentials["alice"]
    assert alice.api_key.get_secret_value() == "alice-key"
    assert alice.secret.get_secret_value() == "alice-secret"


def test_a_secrets_directory_gives_the_variables_its_files_are_named_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path / "run-secrets"
    secrets.mkdir()
    _secret(secrets / "rampart_telegram_token", TOKEN + "\n")
    _secret(secrets / "RAMPART_MASTER_KEY", "from-the-directory\n")
    _secret(secrets / "postgres_password", "not ours")  # another service's secret: left alone
    (secrets / "..data").mkdir()  # Kubernetes' bookkeeping beside the files
    monkeypatch.setenv("RAMPART_SECRETS_DIR", str(secrets))
    monkeypatch.setenv("RAMPART_MASTER_KEY", "from-the-environment")
    s = load_settings()
    assert s.telegram_token is not None and s.telegram_token.get_secret_value() == TOKEN
    # A variable set in the environment wins over the directory's file.
    assert s.master_key is not None
    assert s.master_key.get_secret_value() == "from-the-environment"


def test_a_setting_named_file_stays_a_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text("groups: []\n")
    monkeypatch.setenv("RAMPART_ALERTS__RULES_FILE", str(rules))
    assert load_settings().alerts.rules_file == rules


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        pytest.param(lambda d: {"RAMPART_TELEGRAM_TOKEN_FILE": str(d / "gone")}, "does not exist",
                     id="missing"),
        pytest.param(lambda d: {"RAMPART_TELEGRAM_TOKEN_FILE": str(d)}, "is a directory",
                     id="a-directory"),
        pytest.param(lambda d: {"RAMPART_TELEGRAM_TOKEN_FILE": _secret(d / "e", "\n")},
                     "is empty", id="empty"),
        pytest.param(lambda d: {"RAMPART_TELEGRAM_TOKEN_FILE": _secret(d / "t", TOKEN),
                                "RAMPART_TELEGRAM_TOKEN": TOKEN}, "set only one", id="both"),
        pytest.param(lambda d: {"RAMPART_TELEGRAM_TOKEN_FILE": _bytes(d / "b", b"\xff\xfe")},
                     "cannot be read", id="not-text"),
        pytest.param(lambda d: {"RAMPART_SECRETS_DIR": str(d / "nowhere")},
                     "not a directory", id="no-directory"),
    ],
)  # fmt: skip
def test_a_secret_file_that_cannot_be_had_is_one_sentence_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    setup,
    words: str,  # type: ignore[no-untyped-def]
) -> None:
    env = setup(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    variable = next(iter(env)) if "SECRETS_DIR" in next(iter(env)) else "RAMPART_TELEGRAM_TOKEN"
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert variable in refused.value.message and words in refused.value.message
    shown = CliRunner().invoke(app, ["config", "show"])
    assert shown.exit_code == 2, shown.output
    assert words in shown.output and "Traceback" not in shown.output
    assert TOKEN not in shown.output


def test_an_unreadable_secret_file_names_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads any file: the permission refusal cannot be made here")
    path = Path(_secret(tmp_path / "locked", TOKEN))
    path.chmod(0)
    monkeypatch.setenv("RAMPART_MASTER_KEY_FILE", str(path))
    shown = CliRunner().invoke(app, ["config", "show"])
    assert shown.exit_code == 2
    assert "RAMPART_MASTER_KEY_FILE" in shown.output and "may not read" in shown.output


def test_a_password_without_postgresql_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAMPART_STORE__PASSWORD", "x")
    with pytest.raises(ConfigError, match=r"store\.password is a PostgreSQL password"):
        load_settings()
