"""What every settings section shares: the pydantic base that refuses unknown keys, and the
masked dump of a whole settings object (secrets never shown).

A section lives next to the adapter it configures (``rampart/api/settings.py`` holds
``ApiConfig``, ...); ``rampart.config`` composes them into ``Settings``, and only the
composition root reads that. This module is below both, so either may import it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, SecretStr
from pydantic_core import PydanticCustomError

from rampart.domain.symbols import SymbolError, normalize_symbol

SETTING_ERROR = "setting"
"""The pydantic error type of a refusal worded here: its message is the whole sentence."""


class Section(BaseModel):
    """A settings section: unknown keys are an error, not silently ignored."""

    model_config = {"extra": "forbid"}


def refusal(reason: str) -> PydanticCustomError:
    """A validation error whose message is ``reason`` exactly (pydantic would prefix a
    ValueError's with "Value error, ")."""
    return PydanticCustomError(SETTING_ERROR, "{reason}", {"reason": reason})


def _symbol(value: object) -> str:
    try:
        return normalize_symbol(value)
    except SymbolError as exc:
        raise refusal(str(exc)) from None


Symbol = Annotated[str, BeforeValidator(_symbol)]
"""A market symbol in a settings file: ``BASE/QUOTE``, read in capitals."""


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


def masked_dump(settings: Any) -> dict[str, Any]:
    """The effective settings (a pydantic model) as plain data with every secret masked (nested
    ones too); the store URL's password too, when the settings have a ``store.url``."""
    data: dict[str, Any] = _masked(settings, settings.model_dump(mode="json"))
    store = data.get("store")
    if isinstance(store, dict) and isinstance(store.get("url"), str):
        from sqlalchemy.engine import make_url

        try:
            store["url"] = make_url(store["url"]).render_as_string(hide_password=True)
        except Exception:  # an unparsable URL is reported when it is used; never echo it here
            store["url"] = "********"
    return data
