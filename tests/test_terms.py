"""The terms version the bot will ask investors to accept lives in one place
(rampart.operator.terms), and both pages state exactly it."""

from __future__ import annotations

from pathlib import Path

from rampart.operator.terms import TERMS_PAGES, TERMS_VERSION, version_line

ROOT = Path(__file__).resolve().parents[1]


def test_every_terms_page_states_the_current_version() -> None:
    for page in TERMS_PAGES:
        lines = (ROOT / page).read_text(encoding="utf-8").splitlines()
        assert lines[2] == version_line(), page
        assert sum(f"Version {TERMS_VERSION}" in line for line in lines) == 1, page


def test_the_terms_say_what_the_issue_asks() -> None:
    terms = (ROOT / "docs/users/terms.md").read_text(encoding="utf-8")
    privacy = (ROOT / "docs/users/privacy.md").read_text(encoding="utf-8")
    assert "Past results promise nothing" in terms
    assert "kill switch" in terms.lower() and "circuit breakers" in terms.lower()
    assert "AES-GCM" in privacy and "deleted" in privacy
