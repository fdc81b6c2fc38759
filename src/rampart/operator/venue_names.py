"""The venue settings' type, re-exported for the fronts' settings alone (``api.settings``,
``telegram.settings``), which every command reads: they must not load what
:mod:`rampart.operator.names` brings (the model registry, incidents and revenue, with
structlog), a tenth of a read-only command's start."""

from __future__ import annotations

from rampart.venues.settings import VenueConfig

__all__ = ["VenueConfig"]
