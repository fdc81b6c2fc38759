"""Writes (or checks) the dependency table of THIRD_PARTY.md from the installed packages.

Every package pinned in requirements/lock.txt is listed with its version, what it is used
for (installed with Rampart, with one of its extras, or only for development) and its
license as the package's own metadata states it: the ``License-Expression`` field, else a
short ``License`` field, else the ``License ::`` classifiers, else the first line of the
license file it ships. Where none of those says anything, ``OVERRIDES`` names the license
and where it was read. The vendored browser assets are described by hand in the same file;
tests/test_third_party.py checks both parts.

    .venv/bin/python scripts/third_party.py           # rewrite the table in THIRD_PARTY.md
    .venv/bin/python scripts/third_party.py --check   # exit 1 when the table is stale
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lock.txt"
PYPROJECT = ROOT / "pyproject.toml"
THIRD_PARTY = ROOT / "THIRD_PARTY.md"
BEGIN = "<!-- dependencies: written by scripts/third_party.py, do not edit by hand -->"
END = "<!-- end of dependencies -->"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")

OVERRIDES: dict[str, str] = {
    # Its metadata names no license; the project's pyproject.toml says MIT from 0.1.2 on.
    "jsonalias": "MIT",
    # Its metadata names no license; its LICENSE file (in the wheel) is the BSD 2-Clause one.
    "ta-lib": "BSD-2-Clause",
}
"""Packages whose metadata says nothing about their license: the license, read by hand."""

_VAGUE = {"dual license", "unknown", "other"}
"""``License`` fields that say too little alone: the classifiers are added."""

_TEXT_STARTS = {
    "Apache License": "Apache-2.0",
    "MIT License": "MIT",
    "The MIT License": "MIT",
    "Permission is hereby granted, free of charge": "MIT",
    "BSD 3-Clause License": "BSD-3-Clause",
    "BSD 2-Clause License": "BSD-2-Clause",
}


@dataclass(frozen=True, slots=True)
class Dependency:
    name: str
    version: str
    role: str
    license: str


def lock_pins(text: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in text.splitlines():
        found = PIN.match(line)
        if found:
            pins[canonicalize_name(found.group(1))] = found.group(2)
    return pins


def license_of(dist: metadata.Distribution) -> str:
    """The license a distribution's metadata states (see the module)."""
    name = canonicalize_name(dist.metadata["Name"])
    if name in OVERRIDES:
        return OVERRIDES[name]
    expression = (dist.metadata.get("License-Expression") or "").strip()
    if expression:
        return expression
    field = (dist.metadata.get("License") or "").strip()
    classifiers = [
        c.split(" :: ")[-1]
        for c in dist.metadata.get_all("Classifier") or []
        if c.startswith("License :: ") and c.count(" :: ") >= 2
    ]
    if field and "\n" not in field and len(field) <= 40:
        if field.lower() in _VAGUE and classifiers:
            return f"{field} ({' / '.join(classifiers)})"
        return field
    if classifiers:
        return " / ".join(classifiers)
    for file in dist.files or []:
        if "licen" in file.name.lower():
            text = (file.read_text() or "").lstrip()
            for start, spdx in _TEXT_STARTS.items():
                if text.startswith(start):
                    return spdx
    raise SystemExit(
        f"{name} {dist.version}: its metadata states no license; read it by hand and add it "
        "to OVERRIDES in scripts/third_party.py."
    )


def _closure(roots: list[Requirement], extras: set[str]) -> set[str]:
    """The names of ``roots`` and everything they require, as installed here."""
    env = default_environment()
    seen: set[str] = set()
    todo = [(r, extras) for r in roots]
    while todo:
        req, wanted = todo.pop()
        if req.marker is not None and not any(
            req.marker.evaluate({**env, "extra": e}) for e in (wanted or {""})
        ):
            continue
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue
        todo += [(Requirement(r), set(req.extras)) for r in requires]
    return seen


def roles() -> dict[str, str]:
    """Package name → "runtime", "extra: NAME" or "development"."""
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    found: dict[str, str] = {}
    for name in _closure([Requirement(r) for r in project["dependencies"]], set()):
        found[name] = "runtime"
    for extra, lines in sorted(project.get("optional-dependencies", {}).items()):
        if extra == "dev":
            continue
        for name in _closure([Requirement(r) for r in lines], set()):
            found.setdefault(name, f"extra: {extra}")
    return found


def dependencies() -> list[Dependency]:
    pins = lock_pins(LOCK.read_text(encoding="utf-8"))
    role = roles()
    found = []
    for name, version in sorted(pins.items()):
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise SystemExit(f"{name} is locked but not installed; run `make setup`.") from None
        if dist.version != version:
            raise SystemExit(
                f"{name} is locked at {version} but {dist.version} is installed; run `make setup`."
            )
        found.append(Dependency(name, version, role.get(name, "development"), license_of(dist)))
    return found


def table(deps: list[Dependency]) -> str:
    rows = [f"| {d.name} | {d.version} | {d.role} | {d.license} |" for d in deps]
    head = ["| Package | Version | Used | License (from its metadata) |", "|---|---|---|---|"]
    return "\n".join([BEGIN, "", *head, *rows, "", END])


def rewritten(text: str, deps: list[Dependency]) -> str:
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{THIRD_PARTY.name} has lost its markers; put back {BEGIN} and {END}.")
    before, rest = text.split(BEGIN, 1)
    _, after = rest.split(END, 1)
    return before + table(deps) + after


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether it is current")
    args = parser.parse_args(argv)
    text = THIRD_PARTY.read_text(encoding="utf-8")
    new = rewritten(text, dependencies())
    if args.check:
        if new != text:
            print(f"{THIRD_PARTY.name} is stale: run .venv/bin/python scripts/third_party.py")
            return 1
        print(f"{THIRD_PARTY.name} lists every locked package with its license.")
        return 0
    THIRD_PARTY.write_text(new, encoding="utf-8")
    print(f"Wrote {THIRD_PARTY.name}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
