"""An agent written for another major version of the Agent API is
refused in one sentence naming both versions; one declaring a minor version of this one
(``1.3``) is loaded. Pins ``agents/plugins.py`` ``_checked`` (the version comparison)."""

from __future__ import annotations

import pytest

from rampart.agents import plugins
from rampart.domain.errors import ConfigError
from tests.agents.test_plugins import GOOD, write
from tests.agents.test_plugins import _fresh as _fresh  # autouse: its own folder, nothing cached


def test_an_agent_for_another_api_version_is_refused_and_a_minor_one_loads() -> None:
    write("later.py", GOOD.replace('name = "calm"', 'name = "calm"\n    api_version = "2.0"'))
    with pytest.raises(ConfigError) as refused:
        plugins.resolve("later.py:Calm")
    assert str(refused.value) == (
        "Agent 'later.py:Calm' is written for Agent API 2.0; this Rampart speaks 1."
    )
    write("minor.py", GOOD.replace('name = "calm"', 'name = "calm"\n    api_version = "1.3"'))
    found = plugins.resolve("minor.py:Calm")
    assert found is not None and found.spec == "minor.py:Calm"
