"""The service soak's folder is handed to the service as an absolute path: the service runs in
it, so the default ``var/soak`` (relative to where the command was typed) named a config file
that did not exist from inside it, and every start ended at once with exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from rampart_testkit.soak_service.harness import work_folder


def test_a_relative_folder_is_made_and_named_absolutely(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = work_folder(Path("var/soak/service"))
    assert out.is_absolute() and out == tmp_path / "var" / "soak" / "service"
    assert out.is_dir()
