"""Table of revision 0013: the Solana swap journal (issue 19), one row per attempt of a swap."""

from __future__ import annotations

from decimal import Decimal
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from rampart.store.models import CODE, ID, NAME, Base


class SolanaSwapRow(Base):
    """One attempt of one swap, written before its transaction is sent and replaced as its
    outcome becomes known. Amounts are token units (not base units); the platform and partner
    fees are in the quote token; ``fee_lamports`` is the network fee paid from the gas tank."""

    __tablename__ = "solana_swaps"
    __table_args__ = (
        sa.Index("ix_solana_swaps_status", "status"),
        sa.Index("ix_solana_swaps_ts", "ts"),
    )

    client_id: Mapped[str] = mapped_column(sa.String(ID), primary_key=True)
    attempt: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    account_id: Mapped[str] = mapped_column(sa.String(ID))
    symbol: Mapped[str] = mapped_column(sa.String(NAME))
    side: Mapped[str] = mapped_column(sa.String(CODE))
    route: Mapped[str] = mapped_column(sa.String(CODE))
    signature: Mapped[str] = mapped_column(sa.String(ID))
    last_valid_height: Mapped[int]
    in_mint: Mapped[str] = mapped_column(sa.String(NAME))
    out_mint: Mapped[str] = mapped_column(sa.String(NAME))
    quoted_in: Mapped[Decimal]
    quoted_out: Mapped[Decimal]
    status: Mapped[str] = mapped_column(sa.String(CODE))
    ts: Mapped[int]
    filled_in: Mapped[Decimal]
    filled_out: Mapped[Decimal]
    platform_fee: Mapped[Decimal]
    partner_fee: Mapped[Decimal]
    fee_lamports: Mapped[int]
    err: Mapped[str] = mapped_column(sa.Text)
    wallet: Mapped[str] = mapped_column(sa.String(NAME))


solana_swaps = cast(sa.Table, SolanaSwapRow.__table__)
