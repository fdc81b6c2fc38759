"""``RAMPART_…`` variables for list settings: the forms an operator writes, or one sentence.

pydantic-settings reads a list or mapping from a variable only as JSON, and a value that is not
JSON surfaces as ``SettingsError: error parsing value for field "feed"`` — no variable named,
nothing about what to write. Here a list of plain values (symbols, ids, numbers) is taken in
both documented forms, ``BTC/USDT,ETH/USDT`` and ``["BTC/USDT", "ETH/USDT"]``; anything else a
complex setting cannot read is refused naming the variable and the form it needs.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_settings import EnvSettingsSource

from rampart.config.secret_files import PREFIX, file_variables, secret_variables
from rampart.domain.errors import ConfigError

_SCALARS = (str, int, float, Decimal, bool)
_LISTS = (list, tuple, set, frozenset)


def _plain(annotation: Any) -> Any:
    """``annotation`` without ``Annotated[...]`` and ``| None``."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    origin = get_origin(annotation)
    if origin is Union or (origin is not None and type(None) in get_args(annotation)):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return _plain(rest[0])
    return annotation


def _is_scalar(annotation: Any) -> bool:
    annotation = _plain(annotation)
    if get_origin(annotation) is Literal:
        return True
    return isinstance(annotation, type) and issubclass(annotation, (*_SCALARS, Enum))


def scalar_list(field: FieldInfo | None) -> bool:
    """True for ``list[str]``, ``tuple[int, ...]`` and the like (optionally ``| None``)."""
    if field is None:
        return False
    annotation = _plain(field.annotation)
    if get_origin(annotation) not in _LISTS:
        return False
    items = [a for a in get_args(annotation) if a is not Ellipsis]
    return bool(items) and all(_is_scalar(a) for a in items)


def split_list(value: str) -> list[str]:
    """``a, b,c`` → ``["a", "b", "c"]`` (blanks around items dropped; an empty value is [])."""
    return [item.strip() for item in value.split(",") if item.strip()]


def names_setting(model: type[BaseModel], variable: str) -> bool:
    """Whether ``RAMPART_A__B__C`` (any case) names a setting of ``model``: each part a field,
    or any key of a mapping setting (``venue.credentials.<account>``)."""
    if not variable.upper().startswith(PREFIX):
        return False
    here: Any = model
    for part in variable[len(PREFIX) :].lower().split("__"):
        here = _plain(here)
        if isinstance(here, type) and issubclass(here, BaseModel):
            field = here.model_fields.get(part)
            if field is None:
                return False
            here = field.annotation
        elif get_origin(here) in (dict, Mapping) and part:
            here = get_args(here)[-1]
        else:
            return False
    return True


def unknown_section(model: type[BaseModel], environ: Mapping[str, str]) -> None:
    """Refuse a ``RAMPART_SECTION__…`` variable whose section is no setting: pydantic-settings
    drops it without a word, so a misspelt ``RAMPART_FEEDD__SYMBOLS`` was silently ignored and
    the service ran on the default it was meant to change."""
    sections = list(model.model_fields)
    for name in sorted(environ):
        rest = name.upper()[len(PREFIX) :] if name.upper().startswith(PREFIX) else ""
        section = rest.split("__", 1)[0].lower()
        if "__" not in rest or section in sections:
            continue
        close = difflib.get_close_matches(section, sections, n=1)
        hint = (
            f"did you mean {PREFIX}{close[0].upper()}__{rest.split('__', 1)[1]}?"
            if close
            else f"the settings are {', '.join(sections)}."
        )
        raise ConfigError(
            f"{name} names no settings section ({section!r}), so it would be ignored; {hint}"
        )


class ListFriendlyEnvSource(EnvSettingsSource):
    """The environment source of :class:`~rampart.config.Settings` with the forms above, and
    the secrets mounted as files (:mod:`rampart.config.secret_files`)."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        loaded = dict(super()._load_env_vars())
        model = self.settings_cls
        unknown_section(model, os.environ)

        def is_setting(name: str) -> bool:
            return names_setting(model, name)

        # A _FILE variable is read here; left in, it would be a "no such setting" under its
        # section (RAMPART_STORE__PASSWORD_FILE in store).
        for name in file_variables(os.environ, is_setting):
            loaded.pop(name.lower(), None)
        files = secret_variables(os.environ, is_setting)
        # Keys as the base source keeps them (lower case: the settings are case-insensitive).
        loaded.update({k.lower(): v for k, v in files.items()})
        return loaded

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        if not isinstance(value, str):
            return super().decode_complex_value(field_name, field, value)
        text = value.strip()
        if scalar_list(field) and not text.startswith("["):
            return split_list(text)
        try:
            return super().decode_complex_value(field_name, field, value)
        except ValueError as exc:
            name = self._variable(field_name, value)
            if scalar_list(field):
                raise ConfigError(
                    f"{name} is not a readable list ({exc}); write it as a comma list "
                    'like BTC/USDT,ETH/USDT or as JSON like ["BTC/USDT", "ETH/USDT"].'
                ) from None
            raise ConfigError(
                f'{name} must be JSON for this setting (a mapping like {{"key": "value"}} '
                "or a list like [1, 2]), or set its parts one by one with __ between the "
                f"names ({exc})."
            ) from None

    def _variable(self, field_name: str, value: str) -> str:
        """The variable that carried ``value`` for ``field_name``, as the operator spelled it
        (pydantic-settings passes only the last part of a nested name)."""
        want = field_name.lower()
        for name, held in self.env_vars.items():
            low = name.lower()
            if held == value and (low.endswith(f"__{want}") or low == f"rampart_{want}"):
                return name.upper()
        return f"RAMPART_…{field_name.upper()}"
