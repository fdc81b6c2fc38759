"""Telegram users and their investor accounts, kept in the ``investors`` table (the fronts
read and write them through :class:`InvestorBook`, the facade's, never the store).

Each Telegram user owns exactly one account, ``tg-<user id>``, owned by ``telegram:<user id>``;
every investor command resolves the account from the sender's id, never from an argument, so
nobody can name someone else's account.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from rampart.operator.investor_record import Investor as Investor  # re-exported for its readers
from rampart.store import models as m
from rampart.store import queries

OWNER_PREFIX = "telegram:"


def account_id_for(telegram_id: int) -> str:
    return f"tg-{telegram_id}"


def owner_for(telegram_id: int) -> str:
    return f"{OWNER_PREFIX}{telegram_id}"


def _investor(row: Any) -> Investor:
    return Investor(
        telegram_id=row.telegram_id,
        account_id=row.account_id,
        accepted_disclaimer=row.accepted_disclaimer,
        profile=row.profile,
        capital=row.capital,
        mode=row.mode,
        created_at=row.created_at,
    )


def _load(db: sa.Engine, telegram_id: int) -> Investor | None:
    with db.connect() as conn:
        row = conn.execute(
            sa.select(m.investors).where(m.investors.c.telegram_id == telegram_id)
        ).first()
    return None if row is None else _investor(row)


def _save(db: sa.Engine, inv: Investor) -> None:
    values = {
        "account_id": inv.account_id,
        "accepted_disclaimer": inv.accepted_disclaimer,
        "profile": inv.profile,
        "capital": inv.capital,
        "mode": inv.mode,
        "created_at": inv.created_at,
    }
    with db.begin() as conn:
        done = conn.execute(
            sa.update(m.investors)
            .where(m.investors.c.telegram_id == inv.telegram_id)
            .values(**values)
        )
        if not done.rowcount:
            conn.execute(sa.insert(m.investors).values(telegram_id=inv.telegram_id, **values))


def _all(db: sa.Engine) -> list[Investor]:
    # One query: the operator's /users lists thousands.
    with db.connect() as conn:
        rows = conn.execute(sa.select(m.investors).order_by(m.investors.c.telegram_id)).all()
    return [_investor(row) for row in rows]


async def load(db: sa.Engine, telegram_id: int) -> Investor | None:
    return await asyncio.to_thread(_load, db, telegram_id)


async def save(db: sa.Engine, inv: Investor) -> None:
    await asyncio.to_thread(_save, db, inv)


async def all_investors(db: sa.Engine) -> list[Investor]:
    return await asyncio.to_thread(_all, db)


async def restore_investor_accounts(
    session: Any, only: Callable[[str], bool] | None = None
) -> list[str]:
    """Add back the investor accounts started before a restart, those ``only`` accepts (call where
    ``restore_operator_accounts`` is called: after ``open()``, before ``finish_resume()``).

    On an exchange-backed service (a Solana venue too) each account's own key, or wallet, is
    opened and its client added to the venue first (:mod:`rampart.operator.routing`); an
    account whose investor has disconnected, or whose key is missing or does not open, stays
    stopped (logged)."""
    from rampart.operator import routing

    exchange = routing.exchange_backed(session.settings)
    box = routing.restore_box(session.settings) if exchange else None
    added = []
    for record in await asyncio.to_thread(queries.list_accounts, session.db):
        if (
            not record.owner.startswith(OWNER_PREFIX)
            or record.account_id in session.engine.accounts
            or (only is not None and not only(record.account_id))
        ):
            continue
        if exchange:
            inv = await asyncio.to_thread(_load_by_account, session.db, record.account_id)
            wanted = routing.venue_name(session.settings)
            if inv is None or inv.mode != wanted or inv.capital <= 0:
                continue  # disconnected (or never routed here): nothing to trade with
            if not await routing.restore_route(session, box, record):
                continue
        else:
            await session.engine.add_account(record.spec)
        added.append(record.account_id)
    return added


def _load_by_account(db: sa.Engine, account_id: str) -> Investor | None:
    telegram_id = _telegram_id_of(db, account_id)
    return None if telegram_id is None else _load(db, telegram_id)


def _telegram_id_of(db: sa.Engine, account_id: str) -> int | None:
    with db.connect() as conn:
        found = conn.execute(
            sa.select(m.investors.c.telegram_id).where(m.investors.c.account_id == account_id)
        ).scalar_one_or_none()
    return None if found is None else int(found)


async def telegram_id_of(db: sa.Engine, account_id: str) -> int | None:
    """The Telegram user who owns ``account_id`` (their private chat has the same id)."""
    return await asyncio.to_thread(_telegram_id_of, db, account_id)


class InvestorBook:
    """The investor records of one session, as the fronts reach them (through the facade)."""

    def __init__(self, session: Any) -> None:
        self._session = session

    async def load(self, telegram_id: int) -> Investor | None:
        return await load(self._session.db, telegram_id)

    async def save(self, inv: Investor) -> None:
        await save(self._session.db, inv)

    async def all(self) -> list[Investor]:
        return await all_investors(self._session.db)

    async def telegram_id_of(self, account_id: str) -> int | None:
        return await telegram_id_of(self._session.db, account_id)
