"""The OpenAPI document states what the server enforces: a paper service offers only ``paper``
to the engine-start command (the others are refused), and the weekly report's ``date`` is a
``format: date``."""

from __future__ import annotations

from rampart.api.openapi_truth import narrow
from tests.api.conftest import LiveApi

ADMIN = "/api/v1/admin"


def test_the_served_document_offers_only_the_services_mode_and_dates(shared: LiveApi) -> None:
    doc = shared.get("/openapi.json", who=None).json()
    mode = doc["components"]["schemas"]["StartEngineIn"]["properties"]["mode"]
    assert mode["enum"] == ["paper"]
    weekly = doc["paths"]["/api/v1/accounts/{account_id}/reports/weekly"]["get"]
    (date,) = [p for p in weekly["parameters"] if p["name"] == "date"]
    assert date["schema"]["format"] == "date"
    # What the document no longer offers, the server refuses.
    refused = shared.post(
        f"{ADMIN}/engines/start", {"symbol": "BTC/USDT", "mode": "live", "capital": 100}
    )
    assert refused.status_code == 400
    bad_day = shared.get("/api/v1/accounts/alice/reports/weekly", params={"date": "last week"})
    assert bad_day.status_code == 400


def test_narrowing_leaves_a_document_without_a_mode_alone() -> None:
    doc = {"components": {"schemas": {}}}
    assert narrow(doc, "live") == {"components": {"schemas": {}}}
    full = {"components": {"schemas": {"StartEngineIn": {"properties": {"mode": {"enum": ["a"]}}}}}}
    assert narrow(full, None)["components"]["schemas"]["StartEngineIn"]["properties"]["mode"] == {
        "enum": ["a"]
    }
