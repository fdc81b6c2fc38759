"""The Trading page names the production model the registry holds: a model
promoted outside the service (the CLI) showed "Production: none" above the model marked
production in the table, until the running model source's next poll."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from rampart.ml.registry import ModelRegistry
from tests.api.conftest import LiveApi
from tests.panel.panel_http import sign_in

from .helpers import add_model


@pytest.fixture
def api(tmp_path: Path) -> Iterator[LiveApi]:
    live = LiveApi(tmp_path, ml={"models_dir": str(tmp_path / "models")})
    try:
        yield live.start(warm=10)
    finally:
        live.stop()


def test_the_page_names_the_production_model_promoted_elsewhere(api: LiveApi) -> None:
    registry = ModelRegistry(api.session.db, api.settings.ml.models_dir)
    model = add_model(registry, 0.9, 1_700_000_000_000)
    registry.promote(model.version, "cli:ops", 1_700_000_002_000)  # as `rampart models promote`
    page = sign_in(api).get("/panel/trading").text
    shown = re.search(r'data-figure="production">([^<]*)<', page)
    assert shown is not None, "the page has no production figure"
    assert shown.group(1) == model.version
    row = re.search(rf'data-model="{model.version}">.*?data-figure="stage">([^<]*)<', page, re.S)
    assert row is not None and row.group(1) == "production"
