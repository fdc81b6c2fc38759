"""Fails when requirements/lock.txt no longer satisfies pyproject.toml.

`make setup` installs the lock, then the project with --no-deps, so a dependency added to
pyproject.toml (or a range narrowed) without `make lock` would otherwise go missing silently.
Checks every runtime requirement and every one of every extra against the lock's pins. The lock
is compiled from the dev extra, which pulls the feature extras in (``rampart[ml,...]``), so an
extra that dev does not reach shows up here as missing from the lock.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def lock_pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        m = PIN.match(line)
        if m:
            pins[canonicalize_name(m.group(1))] = m.group(2)
    return pins


def problems(pyproject: dict, pins: dict[str, str]) -> list[str]:
    project = pyproject["project"]
    own = canonicalize_name(project["name"])
    extras = project.get("optional-dependencies", {})
    wanted = [(line, "dependencies") for line in project.get("dependencies", [])]
    wanted += [(line, f"the {extra!r} extra") for extra, lines in extras.items() for line in lines]
    found = []
    for line, where in wanted:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({"extra": "dev"}):
            continue
        name = canonicalize_name(req.name)
        if name == own:  # `rampart[ml]` in an extra: each named extra is checked on its own
            found += [
                f"pyproject.toml: {line!r} in {where} names the extra {x!r}, which is not defined"
                for x in sorted(set(req.extras) - set(extras))
            ]
            continue
        pinned = pins.get(name)
        if pinned is None:
            found.append(
                f"pyproject.toml asks for {line!r} ({where}), which requirements/lock.txt lacks"
            )
        elif not req.specifier.contains(pinned, prereleases=True):
            found.append(
                f"pyproject.toml asks for {line!r} ({where}), but requirements/lock.txt pins "
                f"{pinned}"
            )
    return found


def main() -> int:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = lock_pins((ROOT / "requirements" / "lock.txt").read_text())
    found = problems(pyproject, pins)
    for line in found:
        print(line, file=sys.stderr)
    if found:
        print("Run `make lock` and commit requirements/lock.txt.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
