"""Settings: one typed object from defaults, a YAML file and ``RAMPART_…`` variables.

Precedence (highest first): environment variables (``RAMPART_STORE__URL=…``, nested keys joined
with ``__``), the YAML file (``--config``, ``RAMPART_CONFIG`` or ``./rampart.yaml``), defaults.
The defaults run: paper mode on a synthetic feed with one demo account per built-in agent.
"""

from __future__ import annotations

import difflib
import os
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    YamlConfigSettingsSource,
)

from rampart.api.settings import ApiConfig
from rampart.backup.settings import BackupConfig
from rampart.config.checks import check_settings
from rampart.config.env_source import ListFriendlyEnvSource
from rampart.domain.errors import ConfigError
from rampart.llm.settings import LlmConfig, LlmPrice
from rampart.market.settings import FeedConfig
from rampart.messaging.settings import ScaleConfig
from rampart.ml.settings import MlConfig
from rampart.observability.alerts.settings import AlertsConfig
from rampart.observability.log_settings import LogConfig
from rampart.observability.tracing_settings import TracingConfig
from rampart.operator.accounts import AccountConfig, account_spec, quote_of
from rampart.operator.settings import PeopleConfig
from rampart.reports.settings import EmailConfig
from rampart.risk.profiles import DEFAULT_PROFILES
from rampart.rollout.settings import POSITION_LOSS_KILL, RolloutConfig
from rampart.runtime.settings import OpsConfig
from rampart.security.settings import VaultConfig
from rampart.settings_base import SETTING_ERROR, Section, masked_dump
from rampart.store.settings import StoreConfig
from rampart.telegram.settings import TelegramConfig
from rampart.venues.settings import ApiCredentials, VenueConfig
from rampart.venues.solana.settings import SolanaConfig


def _demo_accounts() -> list[AccountConfig]:
    symbols = ["BTC/USDT", "ETH/USDT"]
    return [
        AccountConfig(id="demo-trend", agent="trend", profile="moderate", symbols=symbols),
        AccountConfig(
            id="demo-meanrev", agent="mean_reversion", profile="conservative", symbols=symbols
        ),
        AccountConfig(id="demo-breakout", agent="breakout", profile="aggressive", symbols=symbols),
    ]


class EngineConfig(Section):
    equity_snapshot_ms: int = Field(default=3_600_000, ge=60_000)
    history: int = Field(default=300, ge=50, le=10_000)
    agent_faults_in_a_row: int = Field(default=3, ge=1, le=1_000)
    """An agent's faults (an answer refused, a raise, a deadline overrun) in a row after which
    its account is paused (docs/authors/agents.md, *The boundary*)."""
    agent_deadline_s: float = Field(default=1.0, gt=0, le=600)
    """Each decision's wall-time budget in a service (``rampart run``, workers); replays and
    research await every answer. The llm agent's default is ``llm.timeout_s`` + 1."""
    agent_deadlines: dict[str, Annotated[float, Field(gt=0, le=600)]] = Field(default_factory=dict)
    """Per agent name, a budget other than ``agent_deadline_s`` (e.g. ``{my_agent: 5}``)."""


class RiskConfig(Section):
    """``risk:``: the position-loss kill of LeviBot's launch plan ("Position Loss > $50 →
    Activate kill switch")."""

    kill_on_position_loss: Decimal | None = Field(default=POSITION_LOSS_KILL, ge=0)
    """Every profile's ``kill_on_position_loss`` (an amount in the account's quote asset; 0
    turns it off): 50 by default, the launch plan's "$50", so it protects every account with
    the shipped configuration, with or without the staged rollout; null leaves each profile
    its own (50 in conservative, off in the others), and ``profiles.<name>.
    kill_on_position_loss`` sets one profile's."""
    kill_on_position_loss_scope: Literal["account", "service"] = "account"
    """``account``: the losing account is halted and flattened; ``service``: the global kill
    switch is engaged (every account stops and is flattened)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAMPART_", env_nested_delimiter="__", extra="forbid"
    )

    mode: Literal["paper", "testnet", "live"] = "paper"
    log_format: Literal["console", "json"] = "console"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    logging: LogConfig = Field(default_factory=LogConfig)
    tracing: TracingConfig = Field(default_factory=TracingConfig)
    feed: FeedConfig = Field(default_factory=FeedConfig)
    venue: VenueConfig = Field(default_factory=VenueConfig)
    solana: SolanaConfig = Field(default_factory=SolanaConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    ops: OpsConfig = Field(default_factory=OpsConfig)
    accounts: list[AccountConfig] = Field(default_factory=_demo_accounts)
    profiles: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Overrides of the built-in risk profiles, e.g. ``{moderate: {risk_per_trade: 0.008}}``."""
    risk: RiskConfig = Field(default_factory=RiskConfig)
    telegram_token: SecretStr | None = None
    telegram: TelegramConfig = Field(default_factory=TelegramConfig)
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
    master_key: SecretStr | None = None
    vault: VaultConfig = Field(default_factory=VaultConfig)
    backup: BackupConfig = Field(default_factory=BackupConfig)
    llm: LlmConfig = Field(default_factory=LlmConfig)
    ml: MlConfig = Field(default_factory=MlConfig)
    people: PeopleConfig = Field(default_factory=PeopleConfig)
    email: EmailConfig = Field(default_factory=EmailConfig)
    scale: ScaleConfig = Field(default_factory=ScaleConfig)

    _yaml_path: Path | None = None

    @model_validator(mode="after")
    def _kill_on_position_loss(self) -> Settings:
        """``risk.kill_on_position_loss`` becomes every profile's, unless a profile names its
        own: one value, read wherever a profile is (the engine, the fronts, a replay)."""
        amount = self.risk.kill_on_position_loss
        if amount is not None:
            for name in DEFAULT_PROFILES:
                self.profiles.setdefault(name, {}).setdefault("kill_on_position_loss", amount)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        del dotenv_settings, file_secret_settings, env_settings
        # Lists from RAMPART_… variables also as comma lists, and a refusal naming the variable.
        sources: list[PydanticBaseSettingsSource] = [
            init_settings,
            ListFriendlyEnvSource(settings_cls),
        ]
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


def _key(loc: tuple[Any, ...]) -> str:
    """A setting's place as a person reads it in the file: ``accounts[0].symbols[1]``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(root)"


def _fields(model: Any) -> dict[str, Any]:
    return (
        dict(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else {}
    )


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """The setting names allowed where ``loc`` (an unknown key) was written."""
    here: Any = Settings
    for part in loc[:-1]:
        if isinstance(here, type) and issubclass(here, BaseModel):
            field = here.model_fields.get(str(part))
            here = field.annotation if field is not None else None
            continue
        # list[X], dict[str, X], X | None: step into X.
        args = [a for a in get_args(here) if a is not type(None)]
        here = args[-1] if args and get_origin(here) is not None else None
    args = [a for a in get_args(here) if a is not type(None)]
    if get_origin(here) is not None and len(args) == 1:
        here = args[0]
    return list(_fields(here))


def _message(err: Any) -> str:
    kind = err["type"]
    if kind == SETTING_ERROR:
        return str(err["msg"])
    if kind == "extra_forbidden":
        name = str(err["loc"][-1])
        close = difflib.get_close_matches(name, _known_keys(err["loc"]), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"there is no such setting{hint}"
    if kind == "list_type":
        return "should be a list, one '- item' per line in YAML or [a, b] on one line"
    text = str(err["msg"]).removeprefix("Value error, ").rstrip(".")
    got = err.get("input")
    shown = "" if isinstance(got, dict | list) or kind == "missing" else f" (got {got!r})"
    return f"{text[:1].lower()}{text[1:]}{shown}"


def _describe(error: ValidationError) -> str:
    parts = [f"setting '{_key(err['loc'])}': {_message(err)}" for err in error.errors()[:3]]
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
        import yaml  # only with a settings file: most commands run on defaults and variables

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
    except SettingsError as exc:
        # What the environment source could not read and did not word itself.
        raise ConfigError(f"Bad configuration from the environment: {exc}.") from None
    finally:
        Settings._yaml_path = None
    ids = [a.id for a in settings.accounts]
    if len(set(ids)) != len(ids):
        raise ConfigError("Bad configuration: setting 'accounts': account ids must be unique.")
    check_settings(settings)
    return settings


def to_yaml(data: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


__all__ = [
    "AccountConfig",
    "AlertsConfig",
    "ApiConfig",
    "ApiCredentials",
    "BackupConfig",
    "EngineConfig",
    "FeedConfig",
    "LlmConfig",
    "LlmPrice",
    "LogConfig",
    "MlConfig",
    "OpsConfig",
    "RolloutConfig",
    "Section",
    "Settings",
    "StoreConfig",
    "TelegramConfig",
    "VaultConfig",
    "VenueConfig",
    "account_spec",
    "load_settings",
    "masked_dump",
    "quote_of",
    "to_yaml",
]
