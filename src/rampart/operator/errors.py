"""Errors of the operator facade, in a module of their own so that callers that only raise or
catch them (the rollout controller) do not import the whole facade."""

from __future__ import annotations

from rampart.domain.errors import RampartError


class Conflict(RampartError):
    """The command cannot apply in the current state (already stopped, already released…)."""


class UnknownIncident(RampartError):
    """There is no incident with that number."""
