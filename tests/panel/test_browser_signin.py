"""Signing in to the panel in a real browser: the redirects, the sign-in form (labelled,
reachable by keyboard), a wrong token refused, the session cookie's flags, sign-out, CSRF on
every form, and a read-only token that cannot act even by forging a form."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.api.conftest import LiveApi
from tests.panel.conftest import (
    Offline,
    post_forms_without_csrf,
    read_token,
    sign_in,
    user_token,
)

ACTION_BUTTONS = (
    "Engage kill switch",
    "Release kill switch",
    "Pause account",
    "Resume account",
    "Flatten account",
    "Approve stage",
    "Hold",
    "Roll back",
    "Acknowledge",
)


def test_root_and_every_panel_page_send_a_stranger_to_sign_in(
    shared: LiveApi, offline: Offline
) -> None:
    base = shared.server.url
    with httpx.Client(base_url=base) as plain:
        root = plain.get("/")
        assert (root.status_code, root.headers["location"]) == (303, "/panel")
        for path in ("/panel", "/panel/accounts", "/panel/live"):
            got = plain.get(path)
            assert got.is_redirect and got.headers["location"] == "/panel/login", path
    page = offline.page()
    page.goto(f"{base}/")
    assert page.url == f"{base}/panel/login"


def test_sign_in_sets_a_strict_httponly_cookie_and_sign_out_ends_it(
    shared: LiveApi, offline: Offline
) -> None:
    base = shared.server.url
    page = offline.page()
    page.goto(f"{base}/panel/login")
    field = page.get_by_label("API token")
    assert field.get_attribute("id") == "token"
    assert field.get_attribute("name") == "token"
    assert field.get_attribute("type") == "password"
    field.fill(shared.tokens["admin"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/panel")

    (cookie,) = [c for c in offline.context.cookies() if c["name"] == "rampart_panel"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert shared.tokens["admin"] not in cookie["value"], "the cookie never holds the token"
    # Scripts on the page cannot read it.
    assert "rampart_panel" not in page.evaluate("document.cookie")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/panel/login")
    assert [c for c in offline.context.cookies() if c["name"] == "rampart_panel"] == []
    page.goto(f"{base}/panel")
    assert page.url == f"{base}/panel/login"
    assert offline.blocked == []


def test_a_wrong_token_is_refused_with_a_sentence(shared: LiveApi, offline: Offline) -> None:
    base = shared.server.url
    page = offline.page()
    page.goto(f"{base}/panel/login")
    page.get_by_label("API token").fill("rp_" + "x" * 43)
    with page.expect_response(f"{base}/panel/login") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 401
    assert page.get_by_role("alert").inner_text() == "That token is not valid."
    assert [c for c in offline.context.cookies() if c["name"] == "rampart_panel"] == []
    assert page.url == f"{base}/panel/login"


def test_tab_reaches_the_token_field_and_the_button(shared: LiveApi, offline: Offline) -> None:
    base = shared.server.url
    page = offline.page()
    page.goto(f"{base}/panel/login")
    focused: list[str] = []
    for _ in range(6):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
        if focused[-1] == "token":
            break
    assert focused[-1] == "token", focused
    page.keyboard.type(shared.tokens["admin"])
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Sign in"
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/panel")


def test_every_form_carries_csrf_and_a_post_without_it_is_refused(
    shared: LiveApi, offline: Offline
) -> None:
    base = shared.server.url
    page = sign_in(offline, base, shared.tokens["admin"])
    assert post_forms_without_csrf(page) == []
    page.get_by_role("button", name="Engage kill switch").click()
    page.get_by_role("button", name="Confirm").wait_for()
    assert post_forms_without_csrf(page) == []

    # The same session's cookie, a form without (or with a wrong) csrf value: refused.
    for fields in ({"reason": "forged"}, {"reason": "forged", "csrf": "guess"}):
        got = page.request.post(f"{base}/panel/act/kill-engage", form=fields, max_redirects=0)
        assert got.status == 403, got.text()
    assert shared.engine.controls.global_kill is False
    # Signing out needs it too: a forged sign-out does not end the session.
    assert page.request.post(f"{base}/panel/logout", max_redirects=0).status == 403
    page.goto(f"{base}/panel")
    assert page.url == f"{base}/panel"


@pytest.mark.parametrize(
    ("token", "pages"),
    [
        # A read token sees every page, with every account, and no button to act.
        (
            read_token,
            ("/panel", "/panel/accounts/alice", "/panel/trades", "/panel/trading",
             "/panel/launch", "/panel/operations"),
        ),
        (user_token, ("/panel", "/panel/accounts/alice")),
    ],
    ids=["read", "user"],
)  # fmt: skip
def test_a_read_token_sees_no_actions_and_a_forged_one_is_refused(
    shared: LiveApi, offline: Offline, token: Callable[[LiveApi], str], pages: tuple[str, ...]
) -> None:
    base = shared.server.url
    page = sign_in(offline, base, token(shared))
    for path in pages:
        got = page.goto(f"{base}{path}")
        assert got is not None and got.status == 200 and page.url == f"{base}{path}", path
        for label in ACTION_BUTTONS:
            assert page.get_by_role("button", name=label).count() == 0, (path, label)
    # Forge one with the session's own csrf value (from its sign-out form): still refused.
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    got = page.request.post(
        f"{base}/panel/act/kill-engage",
        form={"csrf": csrf or "", "reason": "forged"},
        max_redirects=0,
    )
    assert (got.status, got.text()) == (403, "This token can only read.")
    assert shared.engine.controls.global_kill is False
