"""What an API key may do: Binance's ``GET /sapi/v1/account/apiRestrictions`` ("Get API Key
Permission", USER_DATA, weight 1) in the shape of its published example
(``tests/contracts/binance/api_restrictions.json``), per simulator account.

A simulator key reads and trades spot, and by default cannot withdraw and is pinned to an
address (the safe key Rampart asks for); a test makes an unsafe one with :class:`KeyRights` when
it creates the account, or changes it later through ``POST /sim/accounts/{id}/restrictions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rampart_testkit.simulator.records import ApiAccount
    from rampart_testkit.simulator.server import Params, SimContext


@dataclass(frozen=True, slots=True)
class KeyRights:
    withdrawals: bool = False
    ip_restrict: bool = True
    created_ms: int = 0


def restrictions(rights: KeyRights) -> dict[str, Any]:
    """The answer, key for key in the published example's order."""
    return {
        "ipRestrict": rights.ip_restrict,
        "createTime": rights.created_ms,
        "enableReading": True,
        "enableWithdrawals": rights.withdrawals,
        "enableInternalTransfer": False,
        "enableMargin": False,
        "enableFutures": False,
        "permitsUniversalTransfer": False,
        "enableVanillaOptions": False,
        "enableFixApiTrade": False,
        "enableFixReadOnly": False,
        "enableSpotAndMarginTrading": True,
        "enablePortfolioMarginTrading": False,
    }


def api_restrictions(ctx: SimContext, params: Params, acct: ApiAccount) -> dict[str, Any]:
    ex = ctx.exchange
    return restrictions(ex.rights.get(acct.account_id) or KeyRights(created_ms=ex.now_ms))


def rights_from(data: dict[str, Any], base: KeyRights) -> KeyRights:
    """``{"withdrawals": bool, "ip_restrict": bool}`` (either may be left out) over ``base``."""
    from rampart.domain.errors import RampartError

    out = {"withdrawals": base.withdrawals, "ip_restrict": base.ip_restrict}
    for name in out:
        value = data.get(name, out[name])
        if not isinstance(value, bool):
            raise RampartError(f'"{name}" is true or false.')
        out[name] = value
    return KeyRights(out["withdrawals"], out["ip_restrict"], base.created_ms)
