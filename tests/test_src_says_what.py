"""src/ says what its code does and why, in the present tense; the project's history is in git.

No comment, docstring or template under src/ names an issue or a goal by its number (the
samples of the first test below): such a note tells a reader when a line came, not what it does
or why, and it goes stale as the code moves. The prose of tests/, bench/ and scripts/ (their
comments and docstrings) names the behaviour a test pins, not the issue that asked for it; their
data may hold such words (these samples, a CHANGELOG read back). Every Python module opens with
a docstring saying what it holds. Files copied from other projects (THIRD_PARTY.md's vendored
table) are theirs and left as they are. CONTRIBUTING.md states the habit.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
BESIDE = ("tests", "bench", "scripts")
"""The folders whose prose, not their data, is held to the same habit."""
OWN_TEXT = {".py", ".html", ".mako", ".js", ".css", ".txt"}

NUMBERED = re.compile(r"\b(?:issues?|goals?)\b[ \t#-]{0,2}\d", re.IGNORECASE)
"""An issue or a goal named by its number, as in the samples of the first test."""


def vendored() -> set[str]:
    """The names of the files THIRD_PARTY.md lists as copied from other projects."""
    text = (ROOT / "THIRD_PARTY.md").read_text(encoding="utf-8")
    section = text.split("(vendored)", 1)[1].split("\n## ", 1)[0]
    return {Path(name).name for name in re.findall(r"`([^`\s]+)`", section)}


def own_files() -> list[Path]:
    """Every text file under src/ that Rampart wrote."""
    theirs = vendored()
    return sorted(
        p
        for p in SRC.rglob("*")
        if p.is_file()
        and p.suffix in OWN_TEXT
        and "__pycache__" not in p.parts
        and p.name not in theirs
        and not p.name.startswith("LICENSE")
    )


def numbered(text: str) -> list[str]:
    """Each line of ``text`` that names an issue or a goal by number, with its line number."""
    return [
        f"{n}: {line.strip()}"
        for n, line in enumerate(text.splitlines(), 1)
        if NUMBERED.search(line)
    ]


def test_the_pattern_finds_numbered_issues_and_goals_only() -> None:
    named = [
        "(issue 69)",
        "issue 73, goal 2: one path",
        "Issue #12's fix",
        "as goals 2 and 3 ask",
        "(issues 34, 53)",
        "goal 4(a)",
        "# Issue 74: the orders",
    ]
    plain = [
        "the issue's fix",
        "issue a refund",
        "the ramp's goals: 3 stages",
        "3 goals",
        "goal_s = 5",
        "an issuer of 2 tokens",
    ]
    assert [t for t in named if not numbered(t)] == []
    assert [t for t in plain if numbered(t)] == []


def test_the_vendored_files_are_the_third_party_tables() -> None:
    theirs = vendored()
    assert {"htmx.min.js", "swagger-ui-bundle.js", "redoc.standalone.js"} <= theirs
    assert "panel.js" not in theirs
    names = {p.name for p in own_files()}
    assert {"panel.js", "base.html", "clock.py"} <= names
    assert not names & {"htmx.min.js", "swagger-ui-bundle.js"}


def test_no_issue_or_goal_number_in_src() -> None:
    found = [
        f"{p.relative_to(ROOT)}:{hit}"
        for p in own_files()
        for hit in numbered(p.read_text(encoding="utf-8"))
    ]
    assert not found, (
        "src/ names issues or goals by number; say what the code does and why instead "
        "(the history is in git):\n" + "\n".join(found)
    )


def prose(source: str) -> list[tuple[int, str]]:
    """Each comment and each string that is a statement of its own (a docstring, an attribute's
    docstring) in Python ``source``, with the line it starts on; strings a program uses as
    data are left out."""
    found: list[tuple[int, str]] = []
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    quiet = {tokenize.NL, tokenize.COMMENT}
    opens = {None, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING}
    for i, token in enumerate(tokens):
        if token.type == tokenize.COMMENT:
            found.append((token.start[0], token.string))
        elif token.type == tokenize.STRING:
            before = next((t.type for t in reversed(tokens[:i]) if t.type not in quiet), None)
            after = next((t.type for t in tokens[i + 1 :] if t.type not in quiet), None)
            if before in opens and after in {tokenize.NEWLINE, tokenize.ENDMARKER}:
                found.append((token.start[0], token.string))
    return found


def numbered_prose(source: str) -> list[str]:
    """Each line of the comments and docstrings of ``source`` that names an issue or a goal by
    number, with its line number."""
    return [
        f"{start + n}: {line.strip()}"
        for start, text in prose(source)
        for n, line in enumerate(text.splitlines())
        if NUMBERED.search(line)
    ]


def test_the_prose_is_comments_and_docstrings_not_data() -> None:
    source = (
        '"""Replays (issue 69)."""\n'
        "SAMPLES = ['issue 73, goal 2']\n"
        "\n"
        "def test_it() -> None:\n"
        '    """Refused in words."""\n'
        "    x = 1  # goal 4: one path\n"
        '    assert "Issue #12" not in f(\n'
        '        "the issue 7 text")\n'
        '    """As goals 2 and 3\n'
        '    ask."""\n'
    )
    assert numbered_prose(source) == [
        '1: """Replays (issue 69)."""',
        "6: # goal 4: one path",
        '9: """As goals 2 and 3',
    ]


def test_no_issue_or_goal_number_in_the_prose_beside_src() -> None:
    found = [
        f"{p.relative_to(ROOT)}:{hit}"
        for folder in BESIDE
        for p in sorted((ROOT / folder).rglob("*.py"))
        for hit in numbered_prose(p.read_text(encoding="utf-8"))
    ]
    assert not found, (
        "comments or docstrings name issues or goals by number; name the behaviour a test pins "
        "instead (the commit message names the issue):\n" + "\n".join(found)
    )


def opens_with_a_docstring(source: str) -> bool:
    """Whether the module's first statement is a string that says something."""
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.ENCODING}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skip:
            return token.type == tokenize.STRING and bool(token.string.strip("\"'rbuRBU \n"))
    return False


def test_the_docstring_check_reads_the_first_statement() -> None:
    assert opens_with_a_docstring('# a comment\n"""What it holds."""\nx = 1\n')
    assert not opens_with_a_docstring('import os\n"""Too late."""\n')
    assert not opens_with_a_docstring('""""""\n')
    assert not opens_with_a_docstring("")


def test_every_module_opens_with_a_docstring() -> None:
    bare = [
        str(p.relative_to(ROOT))
        for p in sorted(SRC.rglob("*.py"))
        if not opens_with_a_docstring(p.read_text(encoding="utf-8"))
    ]
    assert not bare, "modules without a docstring saying what they hold:\n" + "\n".join(bare)
