"""Settings: one typed object from defaults, a YAML file and ``RAMPART_…`` variables.

Precedence (highest first): environment variables (``RAMPART_STORE__URL=…``, nested keys joined
with ``__``), the YAML file (``--config``, ``RAMPART_CONFIG`` or ``./rampart.yaml``), defaults.
The defaults run: paper mode on a synthetic feed with one demo account per built-in agent.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from rampart.domain.accounts import AccountSpec
from rampart.domain.errors import ConfigError
from rampart.domain.instruments import Instrument
from rampart.rollout.settings import RolloutConfig


class _Section(BaseModel):
    model_config = {"extra": "forbid"}


class AccountConfig(_Section):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    agent: str = "trend"
    profile: str = "moderate"
    capital: Decimal = Field(default=Decimal("10000"), gt=0, le=Decimal("1e12"))
    symbols: list[str] = Field(default_factory=lambda: ["BTC/USDT"], min_length=1)
    owner: str = "demo"
    params: dict[str, Any] = Field(default_factory=dict)


def _demo_accounts() -> list[AccountConfig]:
    symbols = ["BTC/USDT", "ETH/USDT"]
    return [
        AccountConfig(id="demo-trend", agent="trend", profile="moderate", symbols=symbols),
        AccountConfig(
            id="demo-meanrev", agent="mean_reversion", profile="conservative", symbols=symbols
        ),
        AccountConfig(id="demo-breakout", agent="breakout", profile="aggressive", symbols=symbols),
    ]


class FeedConfig(_Section):
    kind: Literal["synthetic", "replay", "ccxt"] = "synthetic"
    path: Path | None = None
    """Candle file for ``replay`` feeds."""
    symbols: list[str] = Field(default_factory=lambda: ["BTC/USDT", "ETH/USDT"])
    timeframe: str = "1m"
    seed: int = 7
    speed: float = Field(default=300.0, gt=0)
    """Simulated seconds per wall second when running live on a synthetic or replay feed."""
    poll_every_s: float = Field(default=5.0, gt=0)
    """``ccxt`` feeds: how often the exchange is asked for new candles (the exchange and its
    URL are the venue's: ``venue.exchange``, ``venue.sandbox``, ``venue.api_url``)."""
    stale_after_s: float = Field(default=120.0, gt=0)
    """``ccxt`` feeds: a symbol with no new data for this long is stale; entries are refused."""
    use_websocket: bool = False
    """``ccxt`` feeds: stream candles with ccxt.pro where offered, polling when that fails."""


class ApiCredentials(_Section):
    api_key: SecretStr
    secret: SecretStr


class VenueConfig(_Section):
    kind: Literal["paper", "ccxt"] = "paper"
    maker_fee: Decimal = Field(default=Decimal("0.001"), ge=0, lt=Decimal("0.05"))
    taker_fee: Decimal = Field(default=Decimal("0.001"), ge=0, lt=Decimal("0.05"))
    slippage_bps: Decimal = Field(default=Decimal("2"), ge=0, le=1000)
    impact_bps: Decimal = Field(default=Decimal("10"), ge=0, le=10000)
    participation: Decimal = Field(default=Decimal("0.10"), gt=0, le=1)
    exchange: str = "binance"
    """``ccxt`` venues: the ccxt exchange id."""
    sandbox: bool = False
    """Use the exchange's testnet (ccxt sandbox mode); ``mode: testnet`` turns it on too."""
    api_url: str | None = None
    """Send every request to this base URL instead (the exchange simulator)."""
    credentials: dict[str, ApiCredentials] = Field(default_factory=dict)
    """API key and secret per account id."""
    request_timeout_s: float = Field(default=10.0, gt=0, le=120)
    retries: int = Field(default=4, ge=0, le=10)
    """Retries of a request that is safe to repeat, after the first try."""
    rate_limit_ms: float | None = Field(default=None, ge=0)
    """Override ccxt's minimum spacing of requests (its ``rateLimit``) per client."""
    bracket_mode: Literal["oco", "stop", "monitor"] | None = None
    """How brackets rest on the exchange; by default the best it offers."""


class StoreConfig(_Section):
    url: str = "sqlite:///var/rampart.db"
    checkpoint_every: int = Field(default=500, ge=1)
    """Candles between checkpoints (each one flush of batched writes) in ``rampart run``."""
    replay_checkpoint_every: int = Field(default=5000, ge=1)
    """The same for ``rampart replay``, where a crash only costs re-running some candles."""
    max_unsaved_rows: int = Field(default=100_000, ge=1)
    """Rows held in memory before they are written without waiting for the checkpoint; while
    the database refuses writes, entries stay halted and no row is ever dropped (see
    ``rampart.store.writer.MAX_UNSAVED_ROWS``)."""
    allow_sqlite_on_exchange: bool = False
    """Let ``testnet`` and ``live`` modes keep their books in SQLite. Off by default: an
    exchange-facing service belongs on PostgreSQL (one file on one disk is one failure away
    from losing the record of real orders); set it for a testnet or simulator trial."""

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return value


class EngineConfig(_Section):
    equity_snapshot_ms: int = Field(default=3_600_000, ge=60_000)
    history: int = Field(default=300, ge=50, le=10_000)


class ApiConfig(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    """0 picks a free port (tests)."""
    rate_per_minute: int = Field(default=600, ge=1)
    """Requests one token may make per minute before it gets 429."""
    max_body_bytes: int = Field(default=64 * 1024, ge=1)
    """Larger request bodies get 413 before they are read into memory."""
    cors_origins: list[str] = Field(default_factory=list)
    """Browser origins allowed to call the API; empty (the default) sends no CORS headers."""
    behind_tls_proxy: bool = False
    """The API speaks plain HTTP; set this when a TLS proxy (nginx, Caddy) fronts a
    non-loopback ``host``, or ``rampart doctor`` fails the deployment."""
    # Connection limits: the API is served by the process that trades, so slow or idle
    # clients must not pile up in it (docs/operations/security.md, "API hardening").
    request_timeout_s: float = Field(default=10.0, gt=0, le=300)
    """A request must arrive whole (request line, headers and body) within this many seconds
    of its connection opening or of its first byte; a slow or partial one is closed."""
    keep_alive_s: float = Field(default=5.0, gt=0, le=300)
    """An idle keep-alive connection is closed after this many seconds."""
    max_connections: int = Field(default=256, ge=1, le=65_536)
    """Open connections at most. A new one past it closes the oldest connection that has no
    request in progress; when every one is busy, the new one gets 503."""
    max_header_bytes: int = Field(default=8192, ge=1024, le=1_048_576)
    """The request line and headers together; larger gets 400."""
    auth_failures_per_minute: int = Field(default=10, ge=1)
    """Failed authentications one client address may make a minute (and at once); past it
    unknown tokens from that address get 429 without a database lookup."""
    token_refresh_s: float = Field(default=5.0, gt=0, le=3600)
    """How often (ops clock) the valid tokens are re-read from the database: a token revoked
    by another process stops working within this bound while the database answers."""


class AlertsConfig(_Section):
    enabled: bool = True
    rules_file: Path | None = None
    """YAML that overrides the default rules' thresholds, ``for`` and severities by name."""
    evaluate_every_s: float = Field(default=5.0, gt=0)
    repeat_every_s: float = Field(default=900.0, gt=0)
    """While an incident stays open and unacknowledged, it is notified again this often."""
    webhook_url: str | None = None
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    webhook_retries: int = Field(default=3, ge=0, le=10)


class OpsConfig(_Section):
    heartbeat_every_s: float = Field(default=5.0, gt=0)
    worker_stale_s: float = Field(default=30.0, gt=0)
    """A component whose last heartbeat is older than this counts as down."""
    shutdown_timeout_s: float = Field(default=20.0, gt=0)
    restart_initial_s: float = Field(default=1.0, gt=0)
    restart_max_s: float = Field(default=60.0, gt=0)


class TelegramConfig(_Section):
    operator_ids: list[int] = Field(default_factory=list)
    """Telegram user ids allowed to run operator commands (everyone else is refused, audited)."""
    operator_chat_id: int | None = None
    """The chat that receives alert notifications."""
    rate_per_minute: int = Field(default=20, ge=1)
    """Commands one Telegram user may send per minute."""
    demo_capital: Decimal = Field(default=Decimal("10000"), gt=0, le=Decimal("1e9"))
    """The virtual balance of a ``/demo`` paper account."""
    poll_timeout_s: float = Field(default=10.0, gt=0)
    """Long-polling timeout of ``getUpdates``."""
    api_url: str | None = None
    """Another Bot API server (a self-hosted one, or a local stand-in in tests)."""
    mode: Literal["polling", "webhook"] = "polling"
    """How updates arrive: long polling (no public address needed) or a webhook."""
    webhook_url: str | None = None
    """The public HTTPS address Telegram posts updates to (webhook mode)."""
    webhook_listen: str = "127.0.0.1"
    """The address the bot's webhook server binds (behind a TLS-terminating proxy)."""
    webhook_port: int = Field(default=8443, ge=0, le=65535)
    webhook_secret: SecretStr | None = None
    """Sent by Telegram in ``X-Telegram-Bot-Api-Secret-Token``; other posts are refused."""


class VaultConfig(_Section):
    """The master key from HashiCorp Vault's KV v2 engine (used when ``url`` is set)."""

    url: str | None = None
    token: SecretStr | None = None
    """Else ``VAULT_TOKEN``."""
    mount: str = "secret"
    path: str = "rampart/master-key"
    field: str = "master_key"
    timeout_s: float = Field(default=5.0, gt=0)


class BackupConfig(_Section):
    """Scheduled, encrypted backups of the store (see docs/operations/backup.md)."""

    enabled: bool = True
    """Run the scheduled backup job in ``rampart run`` (it stays off while no key is set)."""
    dir: Path = Path("var/backups")
    every_hours: float = Field(default=6.0, gt=0, le=24 * 7)
    keep_last: int = Field(default=8, ge=1, le=10_000)
    """Always keep the newest this many backups."""
    keep_daily_days: int = Field(default=14, ge=0, le=3650)
    """Also keep the newest backup of each of the last this many UTC days."""
    key: SecretStr | None = None
    """The backup key (64 hex digits, URL-safe base64 or ``file:/path``); ``master_key`` when
    unset. Keep a copy away from the backups: without it they cannot be read."""
    s3_bucket: str | None = None
    """Upload backups to this S3-compatible bucket instead of ``dir`` (needs boto3)."""
    s3_prefix: str = "rampart/"
    s3_endpoint_url: str | None = None
    s3_region: str | None = None


class LlmPrice(_Section):
    prompt_per_1k: Decimal = Field(ge=0, le=1000)
    completion_per_1k: Decimal = Field(ge=0, le=1000)


class LlmConfig(_Section):
    """An OpenAI-compatible chat-completions endpoint for the ``llm`` agent and ``/vibe``."""

    enabled: bool = False
    base_url: str = "http://127.0.0.1:8000/v1"
    api_key: SecretStr = SecretStr("")
    model: str = "gpt-4o-mini"
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    retries: int = Field(default=2, ge=0, le=10)
    cache_ttl_s: float = Field(default=3600.0, ge=0)
    cache_size: int = Field(default=4096, ge=1)
    daily_budget_usd: Decimal = Field(default=Decimal("5"), ge=0, le=Decimal("1e6"))
    prices: dict[str, LlmPrice] = Field(default_factory=dict)
    """USD per 1,000 tokens by model; a model without a price counts as free, so set it."""
    fallback_agent: str = "trend"
    """The rule agent that trades for the rest of the UTC day once the budget is spent."""


class MlConfig(_Section):
    """The ``ml`` agent and ``rampart models`` (see docs/operators/ml.md)."""

    models_dir: Path = Path("var/models")
    """Where model artifacts live; the registry records each file's SHA-256."""
    threshold: float = Field(default=0.5, gt=0, lt=1)
    """Probability the production model must give before the agent proposes an entry."""
    horizon: int = Field(default=24, ge=1, le=10_000)
    """Candles a training label watches for the target or the stop."""
    atr_stop: float = Field(default=1.0, gt=0, le=100)
    atr_target: float = Field(default=2.0, gt=0, le=100)
    poll_s: float = Field(default=1.0, ge=0)
    """How often (service clock) the agent looks for a promote or rollback made elsewhere."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAMPART_", env_nested_delimiter="__", extra="forbid"
    )

    mode: Literal["paper", "testnet", "live"] = "paper"
    log_format: Literal["console", "json"] = "console"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    feed: FeedConfig = Field(default_factory=FeedConfig)
    venue: VenueConfig = Field(default_factory=VenueConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    ops: OpsConfig = Field(default_factory=OpsConfig)
    accounts: list[AccountConfig] = Field(default_factory=_demo_accounts)
    profiles: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Overrides of the built-in risk profiles, e.g. ``{moderate: {risk_per_trade: 0.008}}``."""
    telegram_token: SecretStr | None = None
    telegram: TelegramConfig = Field(default_factory=TelegramConfig)
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
    master_key: SecretStr | None = None
    vault: VaultConfig = Field(default_factory=VaultConfig)
    backup: BackupConfig = Field(default_factory=BackupConfig)
    llm: LlmConfig = Field(default_factory=LlmConfig)
    ml: MlConfig = Field(default_factory=MlConfig)

    _yaml_path: Path | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        del dotenv_settings, file_secret_settings
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls._yaml_path is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=cls._yaml_path))
        return tuple(sources)


def _config_path(explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    env = os.environ.get("RAMPART_CONFIG")
    if env:
        return Path(env)
    local = Path("rampart.yaml")
    return local if local.is_file() else None


def _describe(error: ValidationError) -> str:
    parts = []
    for err in error.errors()[:3]:
        key = ".".join(str(p) for p in err["loc"]) or "(root)"
        got = err.get("input")
        shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
        parts.append(f"setting '{key}': {err['msg'].rstrip('.')}{shown}")
    more = len(error.errors()) - len(parts)
    tail = f"; and {more} more" if more > 0 else ""
    return "Bad configuration: " + "; ".join(parts) + tail + "."


def _non_text_keys(data: Any) -> list[Any]:
    """Mapping keys at any depth that are not text (YAML allows ``null:``, ``?`` or ``1:``)."""
    if isinstance(data, dict):
        found = [key for key in data if not isinstance(key, str)]
        return found + [k for value in data.values() for k in _non_text_keys(value)]
    if isinstance(data, list):
        return [k for item in data for k in _non_text_keys(item)]
    return []


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings, turning every problem into a ConfigError with one sentence."""
    yaml_path = _config_path(path)
    if yaml_path is not None:
        if not yaml_path.is_file():
            raise ConfigError(f"Config file {yaml_path} does not exist.")
        try:
            loaded = yaml.safe_load(yaml_path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            first = str(exc).split("\n")[0]
            raise ConfigError(f"Config file {yaml_path} is not valid YAML: {first}.") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"Config file {yaml_path} must hold a mapping of settings.")
        odd = _non_text_keys(loaded)
        if odd:
            raise ConfigError(
                f"Config file {yaml_path} has a setting named {odd[0]!r}; setting names are "
                "words such as 'store' or 'feed'."
            )
    Settings._yaml_path = yaml_path
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    finally:
        Settings._yaml_path = None
    ids = [a.id for a in settings.accounts]
    if len(set(ids)) != len(ids):
        raise ConfigError("Bad configuration: setting 'accounts': account ids must be unique.")
    return settings


def _masked(value: Any, dumped: Any) -> Any:
    """``dumped`` with every secret found at the same place in ``value`` masked, at any depth."""
    if isinstance(value, SecretStr):
        return "********" if value.get_secret_value() else None
    if isinstance(value, BaseModel) and isinstance(dumped, dict):
        return {k: _masked(getattr(value, k, None), v) for k, v in dumped.items()}
    if isinstance(value, dict) and isinstance(dumped, dict):
        return {k: _masked(value.get(k), v) for k, v in dumped.items()}
    if isinstance(value, list) and isinstance(dumped, list):
        return [_masked(a, b) for a, b in zip(value, dumped, strict=False)]
    return dumped


def masked_dump(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data with every secret masked (nested ones too)."""
    data = _masked(settings, settings.model_dump(mode="json"))
    from sqlalchemy.engine import make_url

    try:
        data["store"]["url"] = make_url(settings.store.url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is reported when it is used; never echo it here
        data["store"]["url"] = "********"
    return data


def to_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def account_spec(cfg: AccountConfig, quote: str) -> AccountSpec:
    return AccountSpec(
        account_id=cfg.id,
        agent=cfg.agent,
        profile=cfg.profile,
        capital=cfg.capital,
        symbols=tuple(cfg.symbols),
        owner=cfg.owner,
        quote=quote,
    )


def quote_of(symbols: Iterable[str]) -> str:
    quotes = {Instrument.split_symbol(s)[1] for s in symbols}
    if len(quotes) != 1:
        raise ConfigError(
            "An account trades symbols of one quote currency; got " + ", ".join(sorted(quotes))
        )
    return quotes.pop()
