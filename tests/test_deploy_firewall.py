"""The host firewall and the secrets overlay in ``deploy/`` against the deployment docs.

``deploy/nftables.conf`` opens exactly the inbound ports docs/operations/deploy.md's
"Firewall" table lists, each from the addresses it names, and drops the rest; ``nft -c`` checks
its syntax where nft is installed (it is not in CI's image: the structure is checked as text).
``deploy/docker-compose.secrets.yml`` mounts only secrets Rampart reads, and leaves no password
in any container's environment.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from rampart.config import Settings, load_settings
from rampart.config.env_source import names_setting

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
NFT = DEPLOY / "nftables.conf"
DOC = ROOT / "docs" / "operations" / "deploy.md"
OVERLAY = DEPLOY / "docker-compose.secrets.yml"

Opening = tuple[int, str]
"""A port (tcp) and who may reach it: an address set's name (``@admin``) or ``anyone``."""


def _section(title: str) -> str:
    text = DOC.read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def documented() -> set[Opening]:
    rows = re.findall(r"^\| (\d+)/tcp \| ([^|]+?) \|", _section("Firewall"), re.M)
    return {(int(port), who.strip("` ")) for port, who in rows}


def _chain(text: str, name: str) -> str:
    match = re.search(rf"chain {name} \{{(.*?)\n\t\}}", text, re.S)
    assert match, f"no chain {name}"
    return match.group(1)


def opened(text: str) -> set[Opening]:
    """Every (port, source) an accepting rule of the input chain lets in."""
    out: set[Opening] = set()
    for line in _chain(text, "input").splitlines():
        line = line.split("#", 1)[0].strip()
        if "dport" not in line:
            continue
        assert line.endswith("accept"), line
        source = re.search(r"saddr (@\w+)", line)
        ports = re.search(r"dport (\{[^}]*\}|\d+)", line)
        assert ports, line
        for port in re.findall(r"\d+", ports.group(1)):
            out.add((int(port), source.group(1) if source else "anyone"))
    return out


def test_the_rule_set_opens_exactly_the_documented_ports() -> None:
    text = NFT.read_text()
    docs = documented()
    assert {22, 443, 8080, 5432, 4222} <= {port for port, _ in docs}
    assert opened(text) == docs
    # Everything else is dropped: the input policy, and no other chain lets a port in.
    assert "policy drop;" in _chain(text, "input")
    for chain in ("forward", "output"):
        assert "dport" not in _chain(text, chain)
    # The database and the message bus never from anyone.
    for port, who in docs:
        if port in (5432, 4222):
            assert who == "@private"
    for name in {who for _, who in docs if who.startswith("@")}:
        assert re.search(rf"set {name[1:]} \{{", text), f"{name} is used but never defined"


def test_the_structural_check_finds_a_port_opened_beyond_the_docs() -> None:
    text = NFT.read_text().replace("tcp dport 22 accept", "tcp dport { 22, 6379 } accept")
    assert opened(text) - documented() == {(6379, "@admin")}
    wider = NFT.read_text().replace("ip saddr @private tcp dport", "tcp dport")
    assert (5432, "anyone") in opened(wider)


@pytest.mark.skipif(shutil.which("nft") is None, reason="nft is not installed here")
def test_nft_accepts_the_rule_set() -> None:  # pragma: no cover - where nft exists
    nft = shutil.which("nft")
    assert nft is not None
    done = subprocess.run([nft, "-c", "-f", str(NFT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


class _Compose(yaml.SafeLoader):
    """YAML with compose's ``!reset`` tag (Compose 2.24: drop a value of the base file)."""


_Compose.add_constructor("!reset", lambda loader, node: None)


def _overlay() -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(OVERLAY.read_text(), Loader=_Compose)  # noqa: S506 - SafeLoader with one tag
    return data


def _targets(service: dict[str, Any]) -> list[str]:
    return [s if isinstance(s, str) else s.get("target", s["source"]) for s in service["secrets"]]


def test_the_secrets_overlay_mounts_what_rampart_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compose = _overlay()
    declared = compose["secrets"]
    rampart, postgres = compose["services"]["rampart"], compose["services"]["postgres"]
    targets = _targets(rampart)
    sources = [s if isinstance(s, str) else s["source"] for s in rampart["secrets"]]
    assert set(sources) <= set(declared) and _targets(postgres) == ["postgres_password"]
    for target in targets:
        if target != "postgres_password":
            assert names_setting(Settings, target), f"{target} is no RAMPART_… setting"
    env = rampart["environment"]
    assert make_url(env["RAMPART_STORE__URL"]).password is None  # it comes from the file
    assert postgres["environment"]["POSTGRES_PASSWORD"] is None  # reset: the file instead
    # The container's /run/secrets, as the overlay fills it, read by Rampart's settings.
    run = tmp_path / "run-secrets"
    run.mkdir()
    for target in targets:
        (run / target).write_text(
            "0" * 64 + "\n" if target == "rampart_master_key" else f"{target}-value\n"
        )
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value.replace("/run/secrets", str(run)))
    settings = load_settings(DEPLOY / "rampart.yaml")
    assert settings.telegram_token is not None
    assert settings.telegram_token.get_secret_value() == "rampart_telegram_token-value"
    assert settings.master_key is not None and settings.master_key.get_secret_value() == "0" * 64
    assert settings.alerts.webhook_url == "rampart_alerts__webhook_url-value"
    assert ":postgres_password-value@postgres:5432/" in settings.store.url
