"""Optional features and the extras that install them (docs/authors/dependencies.md).

The core install runs the service, the API and CSV/JSON replays. A feature that needs a heavy
library imports it through :func:`require`, at the moment it is used: a missing library then
says, in one sentence, which extra to install instead of ending in an ``ImportError``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from rampart.domain.errors import ConfigError

FEATURES = {
    "ml": "Training and serving models needs",
    "parquet": "Feather and Parquet candle files need",
    "reports": "Charts need",
    "research": "Parameter search needs",
    "s3": "Backups to S3 need",
    "scale": "Commands to several workers over NATS JetStream need",
    "ta": "TA-Lib's indicators in an agent need",
    "vault": "Reading the master key from Vault needs",
}
"""Extra → what it enables, as the start of the sentence a user sees when it is missing."""


class MissingExtra(ConfigError):
    """A feature was asked for whose optional dependencies are not installed."""

    def __init__(self, extra: str, module: str) -> None:
        self.extra = extra
        self.module = module
        super().__init__(missing_sentence(extra, module))


def missing_sentence(extra: str, module: str) -> str:
    """The one sentence a user sees: what needs the extra, what is missing, how to install."""
    top = module.split(".")[0]
    return (
        f"{FEATURES[extra]} the '{extra}' extra ({top} is not installed): "
        f"pip install 'rampart[{extra}]'"
    )


def require(extra: str, module: str) -> ModuleType:
    """``module``, imported, or :class:`MissingExtra` naming ``extra`` when it cannot be."""
    if extra not in FEATURES:
        raise ValueError(f"unknown extra {extra!r}")
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(extra, module) from exc
