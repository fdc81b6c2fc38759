"""Wiring for the service: the alert engine and its notifiers from the settings."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

import sqlalchemy as sa

from rampart.clock import Clock
from rampart.observability.alerts.engine import AlertEngine
from rampart.observability.alerts.overrides import rules_from_settings
from rampart.observability.alerts.settings import AlertsConfig
from rampart.observability.metrics import Metrics
from rampart.observability.notify import FanOut, LogNotifier, Notifier, WebhookNotifier
from rampart.runtime.settings import OpsConfig


class LatencyTarget(Protocol):
    """What the alerts read of the ``rollout`` section (the alerts may not import the rollout,
    which sits above them in the layers)."""

    @property
    def latency_target_ms(self) -> float: ...


class AlertingSettings(Protocol):
    """The settings the alert engine reads: its own section, the worker staleness bound
    (``ops``) and the latency target (``rollout``); ``rampart.config.Settings`` has them."""

    @property
    def alerts(self) -> AlertsConfig: ...

    @property
    def ops(self) -> OpsConfig: ...

    @property
    def rollout(self) -> LatencyTarget: ...


def build_notifiers(
    alerts: AlertsConfig, clock: Clock, extra_notifiers: Iterable[Notifier] = ()
) -> FanOut:
    """The log always; the webhook when ``alerts.webhook_url`` is set; then ``extra_notifiers``
    (e.g. a CallbackNotifier to the Telegram bot). More can be added later with ``add``."""
    notifiers: list[Notifier] = [LogNotifier()]
    if alerts.webhook_url:
        notifiers.append(
            WebhookNotifier(
                alerts.webhook_url,
                clock,
                timeout_s=alerts.webhook_timeout_s,
                retries=alerts.webhook_retries,
            )
        )
    notifiers.extend(extra_notifiers)
    return FanOut(notifiers)


def build_alerting(
    settings: AlertingSettings,
    db: sa.Engine | None,
    metrics: Metrics,
    clock: Clock,
    extra_notifiers: Iterable[Notifier] = (),
    stamp: Clock | None = None,
    ready: Callable[[], bool] | None = None,
) -> AlertEngine:
    """The alert engine with the default rules, the rules file's overrides and the notifiers.

    Raises ConfigError for a bad rules file or webhook URL. ``engine.notifier`` is the FanOut,
    so a notifier that starts later can be plugged in with ``engine.notifier.add(...)``.
    ``clock`` times the evaluations; ``stamp`` (the service's business clock) dates incidents;
    ``ready`` says whether what the rules read is current (until then nothing resolves).
    """
    return AlertEngine(
        rules_from_settings(settings),
        metrics,
        db,
        clock,
        build_notifiers(settings.alerts, clock, extra_notifiers),
        evaluate_every_s=settings.alerts.evaluate_every_s,
        repeat_every_s=settings.alerts.repeat_every_s,
        stamp=stamp,
        ready=ready,
    )
