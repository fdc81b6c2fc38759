"""Table of revision 0028: the request budget's windows, shared by every worker on an address."""

from __future__ import annotations

import sqlalchemy as sa

from rampart.store.models.columns import ID, Col, metadata

# Weight spent in one window of one published limit by every worker sending from one egress
# address. ``budget`` is ``exchange|address|limit kind|window ms``; ``window_start`` the UTC ms
# the window opened. Each spend is one atomic upsert (rampart.store.request_budget); windows
# older than two days are deleted as new ones open.
request_budget = sa.Table(
    "request_budget",
    metadata,
    Col("budget", sa.String(ID * 2), primary_key=True),
    Col("window_start", sa.BigInteger, primary_key=True),
    Col("used", sa.Float),
)
