"""``rollout.deploy``: how the server holding the ops lease watches a blue-green deploy's gates,
and the load balancer whose weights ``rampart deploy`` drives."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, model_validator

ROLLBACK_WITHIN_S = 300.0
"""A failed gate moves every shard back within 5 minutes: the checks that judge it
must fit well inside, leaving the workers' handover its lease rounds."""


class _Section(BaseModel):
    model_config = {"extra": "forbid"}


class BalancerConfig(_Section):
    """HAProxy in front of the API servers (deploy/lb/haproxy.cfg). Without ``weights_file``
    and ``runtime_api`` the deploy leaves API traffic alone."""

    weights_file: Path | None = None
    """Written at every deploy change: the per-server weights as environment variables, which
    the shipped haproxy.cfg reads when HAProxy (re)starts (systemd ``EnvironmentFile=``)."""
    runtime_api: str | None = None
    """HAProxy's admin socket (``stats socket ... level admin``): a path, ``unix:PATH`` or
    ``HOST:PORT``; the new weights are set there at once (``set weight``), no reload."""
    backend: str = Field(default="rampart_api", min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    blue: list[str] = Field(default_factory=lambda: ["blue1", "blue2"], min_length=1)
    """The backend's servers that run the old version (as named in haproxy.cfg)."""
    green: list[str] = Field(default_factory=lambda: ["green1", "green2"], min_length=1)
    """The backend's servers that run the new version."""
    timeout_s: float = Field(default=2.0, gt=0)

    @property
    def enabled(self) -> bool:
        return self.weights_file is not None or self.runtime_api is not None


class DeployConfig(_Section):
    check_every_s: float = Field(default=60.0, ge=1)
    """How often the server holding the ops lease checks a running deploy's step gates."""
    fail_checks: int = Field(default=3, ge=1)
    """Checks in a row a rate gate (orders, latency, API, profit) must fail before the deploy
    rolls back; a P0 or P1 incident or a loss beyond limit rolls it back at the first."""
    balancer: BalancerConfig = Field(default_factory=BalancerConfig)

    @model_validator(mode="after")
    def _in_time(self) -> DeployConfig:
        # The last failing check comes at most fail_checks × check_every_s after the failure
        # began; the handover back needs a minute of the five.
        if self.check_every_s * self.fail_checks > ROLLBACK_WITHIN_S - 60:
            raise ValueError(
                "check_every_s × fail_checks must be at most 240 s, so that a failed gate "
                "rolls the deploy back within 5 minutes"
            )
        return self


__all__ = ["BalancerConfig", "DeployConfig"]
