"""``rampart incidents postmortem ID``: a scripted incident's draft holds every kind of stored
record from its window (its alert and the others, the acknowledgement and ETA, audit entries,
orders, account events, investor notices) and nothing from outside it, under the template's
sections; ``rampart incidents eta`` sets what the status page shows."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.observability import incidents
from rampart.observability.postmortem import SECTIONS
from rampart.store import models as m
from rampart.store.audit import AuditLog
from rampart.store.db import open_database
from rampart.store.models.notify import notify_outbox

ROOT = Path(__file__).resolve().parents[2]
T = 1_704_067_200_000  # 2024-01-01 00:00 UTC
MIN = 60_000


def _order(client_id: str, ts: int, status: str, reason: str) -> dict[str, object]:
    return {
        "client_id": client_id,
        "account_id": "alice",
        "symbol": "BTC/USDT",
        "side": "buy",
        "type": "limit",
        "role": "entry",
        "qty": Decimal("0.01"),
        "price": Decimal(42000),
        "status": status,
        "filled_qty": Decimal(0),
        "avg_fill_price": Decimal(0),
        "fees": Decimal(0),
        "strategy": "trend",
        "reason": reason,
        "created_at": ts,
        "updated_at": ts,
    }


def _script(db: sa.Engine) -> int:
    audit = AuditLog(db)
    audit.record(T - 40 * MIN, "carol", "operator.pause", "bob", {"reason": "long before"})
    opened = incidents.open_incident(
        db,
        key="OrdersFailing",
        rule="OrdersFailing",
        severity="P0",
        summary="Rampart cannot place orders: 0 % of submissions accepted in 5 min.",
        value=0.0,
        threshold=0.0,
        labels={},
        now_ms=T,
    )
    incidents.record_notification(db, opened.id, T + MIN, "notified", "notified: orders", 0.0)
    other = incidents.open_incident(
        db,
        key="ExchangeApiErrors",
        rule="ExchangeApiErrors",
        severity="P1",
        summary="The exchange API failed at least 5 times in 5 min.",
        value=9.0,
        threshold=5.0,
        labels={},
        now_ms=T + 3 * MIN,
    )
    incidents.acknowledge(db, opened.id, "carol", T + 5 * MIN)
    incidents.set_eta(db, opened.id, T + 60 * MIN, "carol", T + 6 * MIN)
    audit.record(T + 6 * MIN, "carol", "operator.kill", "global", {"reason": "venue refuses"})
    with db.begin() as conn:
        conn.execute(
            m.orders.insert().values(
                **_order("rp-alice-0000000009-e", T + 2 * MIN, "rejected", "venue refused: -2010")
            )
        )
        conn.execute(
            m.orders.insert().values(**_order("rp-alice-0000000099-e", T + 120 * MIN, "new", ""))
        )
        conn.execute(
            m.account_events.insert().values(
                scope="global",
                kind="kill_switch",
                old="released",
                new="engaged",
                reason="venue refuses",
                actor="carol",
                flatten=False,
                ts=T + 6 * MIN,
            )
        )
        conn.execute(
            notify_outbox.insert().values(
                key="incident-1-eta",
                account_id="alice",
                kind="incident",
                text="Trading is paused: orders cannot be placed. Expected fixed by 01:00 UTC.",
                created_at=T + 7 * MIN,
                sent_at=T + 7 * MIN + 1000,
            )
        )
    incidents.resolve(db, other.id, T + 15 * MIN, "the condition cleared")
    incidents.resolve(db, opened.id, T + 20 * MIN, "the condition cleared")
    return opened.id


def test_the_draft_holds_every_record_of_the_window(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pm.db'}"
    db = open_database(url)
    incident_id = _script(db)
    db.dispose()
    out = tmp_path / "pm.md"
    env = {"RAMPART_STORE__URL": url, "COLUMNS": "200"}
    done = CliRunner().invoke(
        app, ["incidents", "postmortem", str(incident_id), "--out", str(out)], env=env
    )
    assert done.exit_code == 0, done.output
    text = out.read_text()
    timeline = text.split("## Timeline")[1].split("## Root cause")[0]
    expected = {
        "incident opened": "| 2024-01-01 00:00:00 | incident | #1 opened",
        "notification": "| 2024-01-01 00:01:00 | incident | #1 notified",
        "order": "| order | rp-alice-0000000009-e (alice entry buy BTC/USDT) rejected: venue",
        "other alert": "| alert | #2 P1 ExchangeApiErrors opened",
        "acknowledged": "| 2024-01-01 00:05:00 | incident | #1 acknowledged by carol",
        "eta": "| 2024-01-01 00:06:00 | incident | #1 eta by carol",
        "account event": "| account | global: kill_switch released → engaged by carol",
        "audit": '| audit | carol: operator.kill global {"reason":"venue refuses"}',
        "notice": "| notice | to alice (incident, sent): Trading is paused",
        "other resolved": "| 2024-01-01 00:15:00 | alert | #2 ExchangeApiErrors resolved",
        "resolved": "| 2024-01-01 00:20:00 | incident | #1 resolved",
    }
    for what, line in expected.items():
        assert line in timeline, what
    # Oldest first.
    positions = [timeline.index(line) for line in expected.values()]
    assert positions == sorted(positions)
    # Outside the window (30 min either side): neither the earlier pause nor the later order.
    assert "operator.pause" not in text and "rp-alice-0000000099-e" not in text
    assert "Time to acknowledge: 5 min; time to resolve: 20 min." in text
    assert "Orders created or changed in the window: 1 (rejected 1)." in text
    assert "ETA given to investors: 2024-01-01 01:00:00 UTC." in text
    # The template's sections, in its order.
    template = (ROOT / "docs/operations/postmortem-template.md").read_text()
    headings = re.findall(r"^## (.+)$", template, re.M)
    assert headings == list(SECTIONS)
    assert re.findall(r"^## (.+)$", text, re.M) == list(SECTIONS)


def test_bad_input_is_one_sentence(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pm.db'}"
    open_database(url).dispose()
    env = {"RAMPART_STORE__URL": url}
    runner = CliRunner()
    missing = runner.invoke(app, ["incidents", "postmortem", "42"], env=env)
    assert missing.exit_code == 2 and "There is no incident 42." in missing.output
    bad = runner.invoke(app, ["incidents", "postmortem", "1", "--before", "soon"], env=env)
    assert bad.exit_code == 2 and "'soon' is not a duration" in bad.output
    assert "Traceback" not in missing.output + bad.output


def test_eta_sets_and_clears_what_the_status_page_shows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pm.db'}"
    db = open_database(url)
    record = incidents.open_incident(
        db, key="K", rule="FeedDisconnected", severity="P1", summary="s", value=1.0,
        threshold=0.0, labels={}, now_ms=T,
    )  # fmt: skip
    env = {"RAMPART_STORE__URL": url, "COLUMNS": "200"}
    runner = CliRunner()
    done = runner.invoke(app, ["incidents", "eta", str(record.id), "2999-01-01T14:30"], env=env)
    assert done.exit_code == 0, done.output
    assert "expected fixed 2999-01-01 14:30 UTC" in done.output
    found = incidents.get_incident(db, record.id)
    assert found is not None and found.eta_at == 32472196200000
    past = runner.invoke(app, ["incidents", "eta", str(record.id), "2001-01-01T00:00"], env=env)
    assert past.exit_code == 2 and "has passed already" in past.output
    cleared = runner.invoke(app, ["incidents", "eta", str(record.id), "clear"], env=env)
    assert cleared.exit_code == 0 and "expected fixed cleared" in cleared.output
    found = incidents.get_incident(db, record.id)
    assert found is not None and found.eta_at is None
    db.dispose()
