"""``rampart shards``: which worker holds which shard of the accounts, with its fencing token
and until when, and the workers seen lately (docs/operators/scale.md)."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console

from rampart.cli.common import ConfigOpt, friendly
from rampart.cli.tables import Col, print_json, print_listing

console = Console(soft_wrap=True)


@friendly
def shards(
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Shard leases: owner, token, expiry (UTC, wall clock), and live workers."""
    from rampart.cli.common import load_settings
    from rampart.clock import ms_to_datetime
    from rampart.domain.shards import FREE
    from rampart.store.db import open_database
    from rampart.store.leases import lease_table
    from rampart.store.workers import workers_seen

    settings = load_settings(config)
    db = open_database(settings.store.url)
    try:
        # Leases are liveness: on the wall clock every worker shares (scale.md).
        now = int(time.time() * 1000)
        table, workers = lease_table(db), workers_seen(db)
    finally:
        db.dispose()
    rows: list[dict[str, object]] = [
        {
            "shard": shard,
            "owner": holder.owner or None,
            "token": holder.token,
            "expires_ms": holder.expires_ms or None,
            "live": holder.live(now),
        }
        for shard, holder in sorted(table.items())
    ]
    if as_json:
        print_json({"now_ms": now, "shards": rows, "workers": workers})
        return
    if not rows:
        console.print(
            "No shard leases in this database: one `rampart run` trades every account here."
        )
        return

    def state(row: dict[str, object], owner: str) -> str:
        if owner == FREE:
            return "free"
        return "held" if row["live"] else "expired (any worker may take it)"

    print_listing(
        console,
        [Col("shard", key=True), Col("owner"), Col("token"), Col("until (UTC)"), Col("state")],
        (
            [
                str(r["shard"]),
                str(r["owner"] or "-"),
                str(r["token"]),
                f"{ms_to_datetime(int(str(r['expires_ms']))):%Y-%m-%d %H:%M:%S}"
                if r["expires_ms"]
                else "-",
                state(r, str(r["owner"] or FREE)),
            ]
            for r in rows
        ),
    )
    seen = ", ".join(f"{name} ({ms_to_datetime(ms):%H:%M:%S})" for name, ms in workers.items())
    console.print(f"Workers seen (last heartbeat, UTC): {seen or 'none'}.")
