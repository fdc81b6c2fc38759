"""LICENSE and THIRD_PARTY.md: every locked package and every vendored file's license listed.

The table is read from the installed packages' metadata (scripts/third_party.py); the
vendored files are found by their license files, wherever they sit under src/ or tests/, so
a newly vendored library fails here until THIRD_PARTY.md names it.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
# LICENSE, LICENSE-htmx.txt, NOTICE-swagger-ui, license.md, bundle.js.LICENSE.txt (not notices.py)
LICENSE_FILE = re.compile(
    r"^(LICEN[SC]E|NOTICE|COPYING)([-_.]|$)|\.LICENSE(\.txt)?$|^licen[sc]e(\.\w+)?$"
)
COPYLEFT = re.compile(r"(?<![L])(A?GPL|GNU General Public|Affero)", re.IGNORECASE)


def _load() -> ModuleType:
    script = ROOT / "scripts" / "third_party.py"
    spec = importlib.util.spec_from_file_location("third_party", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["third_party"] = module
    spec.loader.exec_module(module)
    return module


tp = _load()


def _listed() -> dict[str, tuple[str, str]]:
    """Package → (version, license) as the table in THIRD_PARTY.md has them."""
    text = (ROOT / "THIRD_PARTY.md").read_text(encoding="utf-8")
    section = text.split(tp.BEGIN, 1)[1].split(tp.END, 1)[0]
    rows = [line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| ")]
    return {cells[0].strip(): (cells[1].strip(), cells[3].strip()) for cells in rows[1:]}


def test_the_project_is_apache_2_licensed() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text  # the whole text, not a pointer to it
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"


def test_every_locked_package_is_listed_at_its_version() -> None:
    pins = tp.lock_pins((ROOT / "requirements" / "lock.txt").read_text(encoding="utf-8"))
    listed = _listed()
    missing = sorted(set(pins) - set(listed))
    assert not missing, f"not in THIRD_PARTY.md (run scripts/third_party.py): {missing}"
    stale = {n: (listed[n][0], v) for n, v in pins.items() if listed[n][0] != v}
    assert not stale, f"THIRD_PARTY.md lists other versions than the lock: {stale}"
    assert not set(listed) - set(pins), "THIRD_PARTY.md lists packages the lock no longer has"


def test_the_licenses_are_the_ones_the_installed_metadata_states() -> None:
    expected = {d.name: d.license for d in tp.dependencies()}
    listed = {name: lic for name, (_, lic) in _listed().items()}
    assert listed == expected, "THIRD_PARTY.md is stale: run scripts/third_party.py"


def test_no_dependency_is_under_a_license_an_apache_project_cannot_ship_with() -> None:
    strong = {name: lic for name, (_, lic) in _listed().items() if COPYLEFT.search(lic)}
    assert not strong, f"GPL/AGPL dependencies: {strong}"


def test_the_copyleft_check_tells_lgpl_from_gpl() -> None:
    assert COPYLEFT.search("GPL-3.0-only") and COPYLEFT.search("AGPL-3.0-or-later")
    assert not COPYLEFT.search("LGPL-3.0-only")
    assert not COPYLEFT.search("GNU Lesser General Public License v3 (LGPLv3)")


def _license_files() -> list[str]:
    found = []
    for top in ("src", "tests"):
        for path in (ROOT / top).rglob("*"):
            if path.is_file() and LICENSE_FILE.search(path.name) and "__pycache__" not in str(path):
                found.append(path.relative_to(ROOT).as_posix())
    return sorted(found)


def test_every_vendored_license_file_is_named_in_third_party() -> None:
    files = _license_files()
    assert "src/rampart/api/panel/static/LICENSE-htmx.txt" in files  # the finder finds them
    text = (ROOT / "THIRD_PARTY.md").read_text(encoding="utf-8")
    unnamed = [f for f in files if f"`{f}`" not in text]
    assert not unnamed, f"vendored files THIRD_PARTY.md does not describe: {unnamed}"


@pytest.mark.parametrize(
    ("name", "hit"),
    [
        ("LICENSE-chartjs", True),
        ("LICENSE.md", True),
        ("NOTICE-swagger-ui", True),
        ("chart.umd.js.LICENSE.txt", True),
        ("licensing.py", False),
        ("notices.py", False),
        ("license.txt", True),
        ("chart.umd.js", False),
    ],
)
def test_license_files_are_recognised_by_name(name: str, hit: bool) -> None:
    assert bool(LICENSE_FILE.search(name)) is hit
