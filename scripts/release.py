"""`make release VERSION=X.Y.Z`: check, then date the changelog, set the version, commit, tag.

It refuses, with one sentence and nothing changed, unless:

- VERSION is a version newer than the one in pyproject.toml and its tag does not exist yet;
- the work tree has no uncommitted changes (the commit CI tested is the commit released);
- CI passed on this commit: `bash .ci/run` leaves var/ci/passed/<commit> when it passes on a
  clean tree; or RELEASE_CI_CHECK names a command that asks a hosted CI (``{commit}`` in it
  is replaced by the full commit id) and exits 0 when that commit passed;
- CHANGELOG.md has at least one entry under "## Unreleased".

Then the Unreleased entries become "## [X.Y.Z] - <today, UTC>" under a new, empty
Unreleased heading; pyproject.toml and rampart/__init__.py get the version; one commit
"Release X.Y.Z" and an annotated tag vX.Y.Z carrying the section are made. Nothing is pushed.

    .venv/bin/python scripts/release.py 0.2.0 [--root PATH]
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
UNRELEASED = "## Unreleased"
_PROJECT_VERSION = re.compile(r'^(version = ")([^"]+)(")', re.MULTILINE)
_PACKAGE_VERSION = re.compile(r'^(__version__ = ")([^"]+)(")', re.MULTILINE)


class Refused(Exception):
    """Why the release cannot be made; nothing was changed."""


def _git(root: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise Refused(f"git {args[0]} failed: {done.stderr.strip() or done.stdout.strip()}.")
    return done.stdout.strip()


def current_version(root: Path) -> str:
    found = _PROJECT_VERSION.search((root / "pyproject.toml").read_text(encoding="utf-8"))
    if found is None:
        raise Refused("pyproject.toml has no version line.")
    return found.group(2)


def unreleased_section(changelog: str) -> str:
    """The entries under "## Unreleased" (up to the next "## " heading)."""
    if UNRELEASED not in changelog:
        raise Refused(f"CHANGELOG.md has no '{UNRELEASED}' heading to release.")
    body = changelog.split(UNRELEASED, 1)[1]
    body = re.split(r"^## ", body, maxsplit=1, flags=re.MULTILINE)[0]
    return body.strip()


def ci_passed(root: Path, commit: str) -> None:
    check = os.environ.get("RELEASE_CI_CHECK", "").strip()
    if check:
        command = shlex.split(check.replace("{commit}", commit))
        done = subprocess.run(command, capture_output=True, text=True, cwd=root)
        if done.returncode != 0:
            raise Refused(
                f"CI has not passed on {commit[:12]} (RELEASE_CI_CHECK exited "
                f"{done.returncode}); release a commit whose CI run passed."
            )
        return
    if not (root / "var" / "ci" / "passed" / commit).is_file():
        raise Refused(
            f"CI has not passed on {commit[:12]}: `bash .ci/run` records the commits it passed "
            "on a clean tree in var/ci/passed/; run it on this commit first, or set "
            "RELEASE_CI_CHECK to the command that asks your CI."
        )


def release(root: Path, version: str, today: str) -> str:
    """Make the release (see the module); returns the tag."""
    try:
        wanted = Version(version)
    except InvalidVersion:
        raise Refused(f"{version!r} is not a version number such as 0.2.0.") from None
    now = current_version(root)
    if wanted <= Version(now):
        raise Refused(f"{version} is not newer than the current version {now}.")
    tag = f"v{wanted}"
    if _git(root, "tag", "--list", tag):
        raise Refused(f"The tag {tag} exists already.")
    if _git(root, "status", "--porcelain", "--untracked-files=no"):
        raise Refused("The work tree has uncommitted changes; commit or stash them first.")
    commit = _git(root, "rev-parse", "HEAD")
    ci_passed(root, commit)
    changelog_path = root / "CHANGELOG.md"
    changelog = changelog_path.read_text(encoding="utf-8")
    entries = unreleased_section(changelog)
    if not re.search(r"^\s*[-*] ", entries, re.MULTILINE):
        raise Refused(f"CHANGELOG.md has nothing under '{UNRELEASED}'; say what changed first.")

    heading = f"## [{wanted}] - {today}"
    changelog_path.write_text(
        changelog.replace(UNRELEASED, f"{UNRELEASED}\n\n{heading}", 1), encoding="utf-8"
    )
    for path, pattern in (
        (root / "pyproject.toml", _PROJECT_VERSION),
        (root / "src" / "rampart" / "__init__.py", _PACKAGE_VERSION),
    ):
        text = path.read_text(encoding="utf-8")
        path.write_text(pattern.sub(rf"\g<1>{wanted}\g<3>", text, count=1), encoding="utf-8")
    files = ["CHANGELOG.md", "pyproject.toml", "src/rampart/__init__.py"]
    _git(root, "add", *files)
    _git(root, "commit", "-q", "-m", f"Release {wanted}")
    _git(root, "tag", "-a", tag, "-m", f"Rampart {wanted}\n\n{entries}\n")
    return tag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version", nargs="?", default="", help="the new version, e.g. 0.2.0")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.version:
        print("Say which version to release: make release VERSION=0.2.0")
        return 2
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    try:
        tag = release(args.root, args.version, today)
    except Refused as why:
        print(f"No release: {why}")
        return 1
    print(f"Released {tag}: CHANGELOG.md dated, version set, committed and tagged.")
    print(f"Push it when ready: git push origin HEAD {tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
