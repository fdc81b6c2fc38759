"""The agents ``rampart agents new NAME --template T`` writes.

Each template is a working agent in ``<template>.py`` and its test in ``<template>_test.py``,
both real Python that is linted and tested here as it stands: the class ``TemplateAgent`` named
``template_agent``, renamed for the author when written out. A new template is two new files in
this folder; :func:`templates` finds them.
"""

from __future__ import annotations

from importlib import resources

from rampart.domain.errors import ConfigError

CLASS, NAME, TITLE = "TemplateAgent", "template_agent", "Template agent"


def templates() -> list[str]:
    """The templates in this folder, by name (``multi_timeframe`` is written multi-timeframe)."""
    here = resources.files(__name__)
    names = {
        entry.name.removesuffix(".py")
        for entry in here.iterdir()
        if entry.name.endswith(".py") and not entry.name.startswith("_")
    }
    return sorted(n.replace("_", "-") for n in names if not n.endswith("_test"))


def class_name(name: str) -> str:
    """my_agent → MyAgent."""
    return "".join(part.capitalize() for part in name.split("_") if part) or "Agent"


def render(template: str, name: str) -> tuple[str, str]:
    """The agent's source and its test's, for an agent called ``name``."""
    known = templates()
    if template not in known:
        raise ConfigError(
            f"There is no agent template {template!r}; choose one of {', '.join(known)}."
        )
    here = resources.files(__name__)
    stem = template.replace("-", "_")
    out = []
    for file in (f"{stem}.py", f"{stem}_test.py"):
        text = here.joinpath(file).read_text(encoding="utf-8")
        text = text.replace(CLASS, class_name(name)).replace(NAME, name)
        out.append(text.replace(TITLE, name.replace("_", " ").capitalize()))
    return out[0], out[1]
