"""The panel's People page over HTTP: the seeded store's figures, the tickets with their SLA
clocks, and an admin answering one (a viewer cannot)."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from rampart.security.tokens import create_token
from rampart.store import support
from rampart.store.audit import AuditLog
from tests.api.conftest import LiveApi
from tests.panel.panel_http import csrf_of, figures, sign_in, statuses
from tests.people.seed import NOW, seed

HOUR = 3_600_000


def test_the_people_page_shows_the_figures_and_answers_a_ticket(tmp_path: Path) -> None:
    api = LiveApi(tmp_path)
    try:
        api.start(warm=60)
        db: sa.Engine = api.session.db
        seed(db)
        late = support.add_ticket(
            db, "tg-1", "critical", "My stop-loss did not move", NOW - 3 * HOUR
        )
        support.add_ticket(db, "tg-2", "general", "Where are fees listed?", NOW - HOUR)
        # The service hands the panel and the facade one business clock; this harness has
        # none, so the panel reads the ops clock: the facade is given the same one.
        api.ops.set(NOW)
        api.ctx.operator.business = api.ops
        api.tokens["read"] = create_token(db, "read", None, "viewer", NOW)
        admin, viewer = sign_in(api), sign_in(api, "read")

        page = admin.get("/panel/people")
        assert page.status_code == 200
        shown = figures(page.text)
        assert [shown[f"funnel-{s}"] for s in ("started", "connected", "invested", "traded")] == [
            "6",
            "4",
            "3",
            "2",
        ]
        assert shown["active"] == "1"
        assert shown["retention"] == "33 % (1 of 3)"
        assert shown["satisfaction"] == "67 % (2 of 3)"
        assert '<tr data-cohort="2024-W01">' in page.text
        row = re.search(rf'<tr data-ticket="{late.id}">(.*?)</tr>', page.text, re.S)
        assert row is not None and "past its 2 h SLA" in row.group(1)
        assert f'href="/panel/people/tickets/{late.id}"' in page.text

        # A viewer sees the page, not the answer links, and cannot post an answer.
        seen = viewer.get("/panel/people").text
        assert "/panel/people/tickets/" not in seen
        refused = viewer.post(
            f"/panel/people/tickets/{late.id}", data={"csrf": csrf_of(seen), "answer": "x"}
        )
        assert refused.status_code == 403
        assert support.get_ticket(db, late.id).status == "open"  # type: ignore[union-attr]

        form = admin.get(f"/panel/people/tickets/{late.id}")
        assert "My stop-loss did not move" in form.text
        empty = admin.post(
            f"/panel/people/tickets/{late.id}", data={"csrf": csrf_of(form.text), "answer": " "}
        )
        assert empty.status_code == 400 and "cannot be empty" in empty.text
        done = admin.post(
            f"/panel/people/tickets/{late.id}",
            data={"csrf": csrf_of(form.text), "answer": "Checked: it moved at 10:02."},
            follow_redirects=True,
        )
        assert done.status_code == 200
        assert f"Ticket #{late.id} answered by" in " ".join(statuses(done.text))
        ticket = support.get_ticket(db, late.id)
        assert ticket is not None and ticket.status == "answered" and ticket.answered_at == NOW
        entries = AuditLog(db).tail(action="operator.support.answer")
        assert [e.target for e in entries] == [f"ticket:{late.id}"]
    finally:
        api.stop()
