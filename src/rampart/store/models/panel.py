"""Tables of revision 0016: the operator panel's sign-in sessions."""

from __future__ import annotations

import sqlalchemy as sa

from rampart.store.models.columns import CODE, ID, AutoId, Col, metadata

# A panel session, so a service restart does not sign everyone out. The cookie's session id is
# kept only as its SHA-256 hash (``sid_hash``) and the API token not at all: the session names
# its token by id, and every request checks that token again as an API call does, so revoking
# the token still ends the session. ``expires_at`` is on the ops clock (the wall clock).
panel_sessions = sa.Table(
    "panel_sessions",
    metadata,
    Col("sid_hash", sa.String(CODE * 2), primary_key=True),
    Col("token_id", AutoId),
    Col("csrf", sa.String(ID)),
    Col("created_at", sa.BigInteger),
    Col("expires_at", sa.BigInteger),
    sa.Index("ix_panel_sessions_expires_at", "expires_at"),
)
