"""What parameters an agent takes: each one's type, range and default, declared once.

Every agent class carries a :class:`ParamSpace` (``space``). The built-in agents write each
parameter once, in their constructor's signature (``fast: Annotated[int, between(2, 50)] =
12``), and take their space from it (:meth:`ParamSpace.of`); a plugin may do the same or list
its parameters with the ``*_param`` functions. ``rampart replay --param`` reads
it to refuse a name the agent does not take or a value outside the declared range, and
``rampart optimize`` searches inside it (parameters declared ``search=False``, such as the
position size, keep their default unless the operator sets them). The agent's constructor
still checks what only it can (``fast`` shorter than ``slow``); the space says what a person
may ask for at all.

Ranges are inclusive. A ``step`` is the search's grain (0.1 for a reward:risk), not a rule
for values typed by hand.
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, get_args, get_origin

from rampart.domain.errors import ConfigError

Kind = Literal["int", "float", "decimal", "choice"]


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    kind: Kind
    default: Any
    low: float = 0.0
    high: float = 0.0
    step: float | None = None
    choices: tuple[str, ...] = ()
    log: bool = False
    """Searched on a log scale (periods spanning decades)."""
    search: bool = True
    """Searched by ``rampart optimize`` unless fixed; False keeps the default."""
    above: str | None = None
    """Another whole-number parameter, declared before this one, that this one must exceed
    (trend's ``slow`` above ``fast``): the search draws this one above it, so no trial is
    spent on a setting the agent refuses."""

    def describe(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "int":
            return f"a whole number from {self.low:g} to {self.high:g}"
        return f"a number from {self.low:g} to {self.high:g}"

    def read(self, agent: str, value: object) -> Any:
        """``value`` (a number, or text as typed) as this parameter's type, inside its range;
        ConfigError naming the agent, the parameter and the range otherwise."""
        parsed = self._parse(value)
        if parsed is None:
            raise ConfigError(
                f"Parameter '{self.name}' of agent '{agent}' must be {self.describe()}, "
                f"not {value!r}."
            )
        return parsed

    def _parse(self, value: object) -> Any:
        if isinstance(value, bool):
            return None
        if self.kind == "choice":
            text = str(value).strip() if isinstance(value, str) else None
            return text if text in self.choices else None
        number: Decimal | None = None
        if isinstance(value, int | float | Decimal):
            with contextlib.suppress(InvalidOperation, ValueError):
                number = Decimal(str(value))
        elif isinstance(value, str):
            with contextlib.suppress(InvalidOperation, ValueError):
                number = Decimal(value.strip())
        if number is None or not number.is_finite():
            return None
        if not Decimal(str(self.low)) <= number <= Decimal(str(self.high)):
            return None
        if self.kind == "int":
            return int(number) if number == number.to_integral_value() else None
        if self.kind == "float":
            as_float = float(number)
            return as_float if math.isfinite(as_float) else None
        return number

    def canonical(self, value: Any) -> Any:
        """The value as JSON holds it, the same whatever form it was given in."""
        if self.kind == "decimal":
            return str(Decimal(str(value)).normalize())
        if self.kind == "float":
            return float(value)
        return value


def int_param(
    name: str,
    default: int,
    low: int,
    high: int,
    *,
    log: bool = False,
    search: bool = True,
    above: str | None = None,
) -> Param:
    return Param(name, "int", default, low, high, 1, log=log, search=search, above=above)


def float_param(
    name: str, default: float, low: float, high: float, *, step: float | None = None
) -> Param:
    return Param(name, "float", default, low, high, step)


def decimal_param(
    name: str, default: str, low: float, high: float, step: float, *, search: bool = True
) -> Param:
    return Param(name, "decimal", Decimal(default), low, high, step, search=search)


def choice_param(name: str, default: str | None, choices: tuple[str, ...]) -> Param:
    """``default`` None: the agent picks (from the settings) when the parameter is not given."""
    return Param(name, "choice", default, choices=choices)


SIZE_HINT = decimal_param("size_hint", "1", 0.01, 1.0, 0.01, search=False)
"""The share of what the risk profile allows that an entry asks for: sizing, not signal."""


@dataclass(frozen=True, slots=True)
class Range:
    """A parameter's range as its constructor's annotation states it; its kind is its default's
    type (int, float, Decimal) and its default the constructor's own."""

    low: float
    high: float
    step: float | None = None
    log: bool = False
    search: bool = True
    above: str | None = None

    def param(self, name: str, default: object) -> Param:
        if isinstance(default, bool) or not isinstance(default, int | float | Decimal):
            raise TypeError(f"parameter {name!r}: a range needs an int, float or Decimal default")
        if isinstance(default, int):
            return Param(name, "int", default, self.low, self.high, 1, **self._search())
        kind: Kind = "float" if isinstance(default, float) else "decimal"
        return Param(name, kind, default, self.low, self.high, self.step, **self._search())

    def _search(self) -> dict[str, Any]:
        return {"log": self.log, "search": self.search, "above": self.above}


def between(
    low: float,
    high: float,
    *,
    step: float | None = None,
    log: bool = False,
    search: bool = True,
    above: str | None = None,
) -> Range:
    """``Annotated[int, between(2, 50)]``: the range of a constructor's parameter (inclusive);
    ``step``, ``log``, ``search`` and ``above`` as :class:`Param` has them."""
    return Range(low, high, step, log, search, above)


SIZE = between(0.01, 1.0, step=0.01, search=False)
""":data:`SIZE_HINT`'s range, for a constructor's ``size_hint`` (its default is the agent's)."""


@dataclass(frozen=True, slots=True)
class ParamSpace:
    params: tuple[Param, ...]

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"a parameter is declared twice in {names}")

    @classmethod
    def of(cls, init: Callable[..., object], *extra: Param) -> ParamSpace:
        """The space a constructor states: each keyword parameter annotated
        ``Annotated[type, between(...)]``, with its default, in the signature's order (then
        ``extra``, parameters the constructor takes in another form). A keyword without a range
        (a model source) is no parameter a person sets."""
        params = []
        for name, arg in inspect.signature(init).parameters.items():
            rng = _range_of(arg.annotation, init.__globals__)
            if rng is not None and arg.kind is inspect.Parameter.KEYWORD_ONLY:
                params.append(rng.param(name, arg.default))
        return cls((*params, *extra))

    def __iter__(self) -> Iterator[Param]:
        return iter(self.params)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def get(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def check(self, agent: str, params: Mapping[str, object]) -> dict[str, Any]:
        """``params`` typed and checked against the declarations: an unknown name or a value
        outside its range is a ConfigError in one sentence."""
        out: dict[str, Any] = {}
        for name, value in params.items():
            param = self.get(name)
            if param is None:
                raise ConfigError(
                    f"Agent '{agent}' has no parameter '{name}': choose from "
                    f"{', '.join(self.names)}."
                )
            out[name] = param.read(agent, value)
        return out

    def canonical(self, agent: str, params: Mapping[str, object] | None) -> dict[str, Any]:
        """Every parameter (defaults filled in) in one JSON form, so two ways of writing the
        same setting compare equal."""
        checked = self.check(agent, params or {})
        return {p.name: p.canonical(checked.get(p.name, p.default)) for p in self.params}


def _range_of(annotation: object, names: dict[str, Any]) -> Range | None:
    # With postponed annotations the signature holds text; only an Annotated one is read
    # (evaluating the rest could need a name imported for type checking alone).
    if isinstance(annotation, str):
        if not annotation.startswith("Annotated["):
            return None
        annotation = eval(annotation, names)  # noqa: S307 - the agent's own source text
    if get_origin(annotation) is not Annotated:
        return None
    return next((m for m in get_args(annotation)[1:] if isinstance(m, Range)), None)
