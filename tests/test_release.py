"""`make release` (scripts/release.py): refuses without a passed CI run, a clean tree and
changelog entries, changing nothing; otherwise dates the changelog, sets the version, commits
and tags. Each case runs in a throwaway git repository shaped like Rampart's."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHANGELOG = (
    "# Changelog\n\n## Unreleased\n\n### Added\n- A thing.\n\n## [0.1.0] - 2026-01-01\n- Old.\n"
)


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("release_script", ROOT / "scripts" / "release.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["release_script"] = module
    spec.loader.exec_module(module)
    return module


rel = _load()


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "src" / "rampart").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "rampart"\nversion = "0.1.0"\n')
    (tmp_path / "src" / "rampart" / "__init__.py").write_text('"""R."""\n\n__version__ = "0.1.0"\n')
    (tmp_path / "CHANGELOG.md").write_text(CHANGELOG)
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "add", ".")
    _git(tmp_path, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "x")
    _git(tmp_path, "config", "user.email", "t@example.invalid")
    _git(tmp_path, "config", "user.name", "t")
    return tmp_path


def _passed(repo: Path) -> None:
    commit = _git(repo, "rev-parse", "HEAD")
    (repo / "var" / "ci" / "passed").mkdir(parents=True, exist_ok=True)
    (repo / "var" / "ci" / "passed" / commit).write_text(commit)


def _state(repo: Path) -> tuple[str, str, str]:
    return _git(repo, "rev-parse", "HEAD"), _git(repo, "tag"), (repo / "CHANGELOG.md").read_text()


def test_without_a_passed_ci_run_it_refuses_and_changes_nothing(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RELEASE_CI_CHECK", raising=False)
    before = _state(repo)
    assert rel.main(["0.2.0", "--root", str(repo)]) == 1
    said = capsys.readouterr().out
    assert said.startswith("No release: CI has not passed on") and "bash .ci/run" in said
    assert _state(repo) == before


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("dirty", "uncommitted changes"),
        ("empty changelog", "nothing under '## Unreleased'"),
        ("old version", "is not newer than the current version 0.1.0"),
        ("bad version", "is not a version number"),
        ("tag exists", "The tag v0.2.0 exists already"),
    ],
)
def test_other_refusals(
    repo: Path, change: str, words: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RELEASE_CI_CHECK", raising=False)
    version = {"old version": "0.1.0", "bad version": "soon"}.get(change, "0.2.0")
    if change == "empty changelog":
        (repo / "CHANGELOG.md").write_text(
            "# Changelog\n\n## Unreleased\n\n## [0.1.0] - x\n- Old.\n"
        )
        _git(repo, "commit", "-qam", "empty")
    if change == "tag exists":
        _git(repo, "tag", "v0.2.0")
    _passed(repo)
    if change == "dirty":
        (repo / "CHANGELOG.md").write_text(CHANGELOG + "- An edit not committed.\n")
    before = _state(repo)
    with pytest.raises(rel.Refused, match=words):
        rel.release(repo, version, "2026-02-03")
    assert _state(repo) == before


def test_after_ci_passed_it_dates_the_changelog_sets_the_version_and_tags(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RELEASE_CI_CHECK", raising=False)
    _passed(repo)
    tested = _git(repo, "rev-parse", "HEAD")
    assert rel.release(repo, "0.2.0", "2026-02-03") == "v0.2.0"
    changelog = (repo / "CHANGELOG.md").read_text()
    assert changelog.startswith("# Changelog\n\n## Unreleased\n\n## [0.2.0] - 2026-02-03\n")
    assert "- A thing." in changelog.split("## [0.2.0]")[1].split("## [0.1.0]")[0]
    assert 'version = "0.2.0"' in (repo / "pyproject.toml").read_text()
    assert '__version__ = "0.2.0"' in (repo / "src/rampart/__init__.py").read_text()
    assert _git(repo, "rev-parse", "HEAD^") == tested  # one release commit on what CI tested
    assert _git(repo, "log", "-1", "--format=%s") == "Release 0.2.0"
    assert _git(repo, "rev-parse", "v0.2.0^{commit}") == _git(repo, "rev-parse", "HEAD")
    assert "- A thing." in _git(repo, "tag", "-l", "--format=%(contents)", "v0.2.0")
    assert _git(repo, "status", "--porcelain", "--untracked-files=no") == ""


def test_a_hosted_ci_is_asked_through_release_ci_check(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit = _git(repo, "rev-parse", "HEAD")
    monkeypatch.setenv("RELEASE_CI_CHECK", "false {commit}")
    with pytest.raises(rel.Refused, match="RELEASE_CI_CHECK exited 1"):
        rel.release(repo, "0.2.0", "2026-02-03")
    passed = repo / "green"
    passed.write_text(commit)
    monkeypatch.setenv("RELEASE_CI_CHECK", f"grep -q {{commit}} {passed}")
    assert rel.release(repo, "0.2.0", "2026-02-03") == "v0.2.0"


def test_the_project_keeps_a_changelog_and_ci_records_its_passes() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert rel.UNRELEASED in changelog
    assert "var/ci/passed" in (ROOT / ".ci" / "run").read_text()
    assert (
        "\nrelease: $(STAMP)\n\t$(BIN)/python scripts/release.py $(VERSION)\n"
        in (ROOT / "Makefile").read_text()
    )
