"""Splitting as Telegram counts: a piece is measured on the text it shows
(an entity like ``&lt;`` is one character, a tag none) and cut only between grapheme clusters,
so no family emoji, flag, skin tone or accented letter is shown broken at a 4,096 boundary."""

from __future__ import annotations

import math

import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rampart.telegram.split import LIMIT, split_text
from rampart_testkit.botapi.rules import MAX_TEXT, _utf16, parse_html

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
FLAG = "\U0001f1fa\U0001f1e6"
THUMB = "\U0001f44d\U0001f3fd"
ACCENTED = "e\u0301"
CLUSTERS = [FAMILY, FLAG, THUMB, ACCENTED, "&lt;", "&amp;", "&gt;", "a", " ", "\U0001f600"]


def _clusters(html: str) -> list[str]:
    return regex.findall(r"\X", html)


def test_text_full_of_escaped_brackets_goes_in_as_few_messages_as_it_shows() -> None:
    shown_chars = 3 * LIMIT
    html = "&lt;" * shown_chars  # 12,288 characters as written, 3 x 4,096 shown
    pieces = split_text(html)
    assert len(pieces) == math.ceil(shown_chars / MAX_TEXT)
    assert "".join(parse_html(p) for p in pieces) == "<" * shown_chars


def test_no_cluster_is_broken_at_the_boundary() -> None:
    for cluster in (FAMILY, FLAG, THUMB, ACCENTED):
        for lead in range(LIMIT - 12, LIMIT + 1):
            text = "a" * lead + cluster * 3
            pieces = split_text(text)
            shown = [parse_html(p) for p in pieces]
            assert all(_utf16(s) <= MAX_TEXT for s in shown)
            assert "".join(shown) == text
            assert [c for s in shown for c in _clusters(s)] == _clusters(text), (cluster, lead)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.lists(st.sampled_from(CLUSTERS), min_size=LIMIT - 50, max_size=LIMIT + 400),
    st.booleans(),
)
def test_pieces_parse_fit_and_keep_every_cluster(parts: list[str], bold: bool) -> None:
    html = "".join(parts)
    if bold:
        html = f"<b>{html}</b>"
    pieces = split_text(html)
    shown = [parse_html(p) for p in pieces]  # raises as Telegram refuses a cut tag or entity
    assert all(_utf16(s) <= MAX_TEXT for s in shown)
    whole = parse_html(html)
    assert "".join(shown) == whole
    assert [c for s in shown for c in _clusters(s)] == _clusters(whole)
    # As few pieces as the shown text needs, give or take the clusters at each cut.
    assert len(pieces) <= math.ceil(_utf16(whole) / (MAX_TEXT - 11))
