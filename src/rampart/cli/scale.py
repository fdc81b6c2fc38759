"""``rampart feed`` and ``rampart worker``: running past one machine (docs/operators/scale.md).
``rampart run`` stays the single-process default; these share one PostgreSQL and one NATS
server with JetStream (``scale.nats_url``)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from rampart.cli.common import ConfigOpt, friendly, load_settings
from rampart.domain.errors import ConfigError
from rampart.observability.logging import configure_logging
from rampart.runtime.threads import with_started_threads

console = Console()
FEED_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


@friendly
def feed(
    config: ConfigOpt = None,
    max_candles: Annotated[
        int | None, typer.Option(help="Stop after publishing this many candles (for tests).")
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            help="This feed's name in the leader lease, unique among the feeds "
            "(default: host name and process id)."
        ),
    ] = None,
) -> None:
    """Publish the configured market data once on JetStream, for every worker. Run two for a
    standby: only the holder of the leader lease publishes."""
    from rampart.fleet.feed_publisher import default_feed_name
    from rampart.wiring.fleet_parts import build_feed

    if name is not None and not FEED_NAME.fullmatch(name):
        raise ConfigError(
            f"--name {name!r} is not a feed name: use 1 to 64 letters, digits, '-' or '_'."
        )
    settings = load_settings(config)
    named = name or default_feed_name()
    log_file = Path(f"var/rampart-feed-{named}.log" if name else "var/rampart-feed.log")
    configure_logging(settings.log_level, settings.log_format, file=log_file)
    from rampart.observability.tracing import setup_tracing

    setup_tracing(settings.tracing, "feed")
    feed = build_feed(settings, console, max_candles=max_candles, name=named)
    asyncio.run(with_started_threads(feed.run()))


@friendly
def worker(
    config: ConfigOpt = None,
    name: Annotated[
        str | None,
        typer.Option(help="This worker's name (default: scale.worker_name, or host and pid)."),
    ] = None,
    standby: Annotated[
        bool,
        typer.Option(
            "--standby",
            help="Join as a blue-green standby: take shards only when `rampart deploy` moves "
            "them to this version.",
        ),
    ] = False,
    version_label: Annotated[
        str | None,
        typer.Option(
            help="The version this worker runs, for `rampart deploy` (default: Rampart's)."
        ),
    ] = None,
) -> None:
    """Trade the account shards this process holds a lease on."""
    from rampart.cli.version import package_version
    from rampart.fleet.worker import default_name
    from rampart.wiring.fleet_parts import build_worker

    settings = load_settings(config)
    named = name or settings.scale.worker_name or default_name()
    version = version_label or package_version()
    role = "standby" if standby else "active"
    process = build_worker(settings, console, name=named, version=version, role=role)
    log_file = Path(f"var/rampart-worker-{named}.log")
    configure_logging(settings.log_level, settings.log_format, file=log_file)
    from rampart.observability.tracing import setup_tracing

    setup_tracing(settings.tracing, "worker")
    asyncio.run(with_started_threads(process.run()))


@friendly
def serve(
    config: ConfigOpt = None,
    version_label: Annotated[
        str | None,
        typer.Option(
            help="The version this server runs, for `rampart deploy`'s gates on the new "
            "version's API servers (default: Rampart's)."
        ),
    ] = None,
) -> None:
    """Serve the API, the panel and the Telegram bot without trading (the workers trade)."""
    from rampart.cli.version import package_version
    from rampart.wiring.serve import Server

    settings = load_settings(config)
    log_file = Path(f"var/rampart-serve-{settings.api.port}.log")
    configure_logging(settings.log_level, settings.log_format, file=log_file)
    from rampart.observability.tracing import setup_tracing

    setup_tracing(settings.tracing, "serve")
    version = version_label or package_version()
    asyncio.run(with_started_threads(Server(settings, console, version=version).run()))
