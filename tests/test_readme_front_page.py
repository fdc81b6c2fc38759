"""The README is a front page that leads: what Rampart is, the two commands, a five-minute tour
and where to read next, in at most 250 lines. Everything else lives in docs/, and every page
there is reachable from the front page by following links; no relative link in the README,
CONTRIBUTING.md or docs/ points at a file or a heading that is not there.

(The tour block itself is what ``scripts/tour.sh`` runs: ``tests/test_readme_tour.py``.)
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def relative_links(page: Path) -> list[str]:
    """The page's links to files of this repository (code blocks and web addresses left out)."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, re.MULTILINE)}


def pages() -> list[Path]:
    return [README, ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]


def broken(page: Path) -> list[str]:
    """Each relative link of ``page`` whose file, or heading in a Markdown file, is missing."""
    found = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve()
        if not file.exists() or (anchor and file.suffix == ".md" and anchor not in anchors(file)):
            found.append(target)
    return found


def test_the_front_page_is_short_and_leads() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    sections = re.findall(r"^## (.+)$", text, re.MULTILINE)
    assert sections == ["The two commands", "A five-minute tour", "Where to read next"]
    two = text.split("## The two commands", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    assert re.findall(r"^make (\w+)", two, re.MULTILINE) == ["run", "test"]
    assert "docs/overview.md" in relative_links(README)
    assert "docs/README.md" in relative_links(README)


def test_slugs_are_githubs() -> None:
    assert slug("Going back after an upgrade") == "going-back-after-an-upgrade"
    assert slug("The `bracket` area and `accounts` again (2026-11-28)") == (
        "the-bracket-area-and-accounts-again-2026-11-28"
    )


def test_a_missing_page_or_heading_is_found(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("# Title\n\n## A part\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](there.md) [ok](there.md#a-part) [gone](gone.md) [no](there.md#nowhere)\n"
        "```\n[in code](skipped.md)\n```\n[web](https://example.org/x.md)\n"
    )
    assert broken(page) == ["gone.md", "there.md#nowhere"]


def test_no_relative_link_is_broken() -> None:
    found = {str(p.relative_to(ROOT)): broken(p) for p in pages()}
    assert {k: v for k, v in found.items() if v} == {}


def test_every_docs_page_is_reachable_from_the_front_page() -> None:
    seen: set[Path] = set()
    todo = [README.resolve()]
    while todo:
        page = todo.pop()
        if page in seen or not page.exists():
            continue
        seen.add(page)
        for target in relative_links(page):
            linked = (page.parent / target.partition("#")[0]).resolve()
            if linked.suffix == ".md":
                todo.append(linked)
    unreached = [
        str(p.relative_to(ROOT)) for p in sorted((ROOT / "docs").rglob("*.md")) if p not in seen
    ]
    assert not unreached, "docs pages no link leads to from README.md: " + ", ".join(unreached)
