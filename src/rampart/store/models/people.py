"""Tables of revisions 0019 and 0025: investors' feedback, support tickets and the terms they
accepted.

Each belongs to an account (the investor's, ``tg-<telegram id>`` for the bot's investors): the
people metrics count them, never show who they are.
"""

from __future__ import annotations

import sqlalchemy as sa

from rampart.store.models.columns import CODE, ID, AutoId, Col, metadata

# One answer to the satisfaction survey: a score from 1 (bad) to 5 (very good) and what the
# investor wrote with it (may be empty).
feedback = sa.Table(
    "feedback",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("account_id", sa.String(ID)),
    Col("score", sa.Integer),
    Col("text", sa.Text),
    Col("ts", sa.BigInteger),
    sa.Index("ix_feedback_ts", "ts"),
)


# A support request. ``priority`` is ``critical`` or ``general`` (the SLA differs); ``status``
# is ``open`` until someone answers, then ``answered``. The SLA clock runs from ``opened_at``
# to ``answered_at`` on the service's business clock.
support_tickets = sa.Table(
    "support_tickets",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("account_id", sa.String(ID)),
    Col("priority", sa.String(CODE)),
    Col("status", sa.String(CODE)),
    Col("text", sa.Text),
    Col("opened_at", sa.BigInteger),
    Col("answered_at", sa.BigInteger, nullable=True),
    Col("answered_by", sa.String(ID), nullable=True),
    Col("answer", sa.Text, nullable=True),
    sa.Index("ix_support_tickets_status_opened_at", "status", "opened_at"),
)


# Who accepted which version of the terms of service and privacy policy, when (business clock):
# one row per acceptance, never updated, so a new version accepted later adds a row and the
# history of what each investor agreed to stays (rampart.operator.terms holds the version).
terms_acceptances = sa.Table(
    "terms_acceptances",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("account_id", sa.String(ID)),
    Col("version", sa.String(CODE)),
    Col("actor", sa.String(ID)),
    Col("accepted_at", sa.BigInteger),
    sa.Index("ix_terms_acceptances_account_id_accepted_at", "account_id", "accepted_at"),
)
