"""The remote soak's accounts as the engine holds them (agent, profile, capital and symbols,
spread over the configured accounts), and the exchange host its report names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rampart.domain.accounts import AccountSpec
from rampart.wiring.preflight_checks import host_of
from rampart_testkit.soak import build
from rampart_testkit.soak.config import AGENT_MIX, PROFILE_MIX, SoakConfig

if TYPE_CHECKING:
    from rampart.config import Settings


def account_specs(
    settings: Settings, cfg: SoakConfig, accounts: dict[str, str], ids: list[str], quote: str
) -> build.AccountSpecs:
    """``accounts``: each run account id and the configured account it trades on."""
    symbols = tuple(cfg.symbols)
    out: build.AccountSpecs = []
    for i, account_id in enumerate(ids):
        traded = symbols if i % 4 == 3 else (symbols[i % len(symbols)],)
        agent = AGENT_MIX[i % len(AGENT_MIX)]
        params = {"every": 3 + i % 5} if agent == "churn" else None
        spec = AccountSpec(
            account_id,
            agent,
            PROFILE_MIX[i % len(PROFILE_MIX)],
            _capital(settings, cfg, accounts[account_id]),
            traded,
            quote=quote,
        )
        out.append((spec, params))
    return out


def _capital(settings: Settings, cfg: SoakConfig, configured_id: str) -> Any:
    found = next((a for a in settings.accounts if a.id == configured_id), None)
    return found.capital if found is not None else cfg.capital


def host(client: Any) -> str:
    api = client.urls.get("api")
    url = api.get("public") if isinstance(api, dict) else api
    return host_of(str(url or ""))
