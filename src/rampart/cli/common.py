"""What every ``rampart`` sub-command shares: the ``--config`` option and the error handling
that turns every failure into one plain sentence, never a traceback."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from rampart.cli.collector import resume as resume_collector
from rampart.domain.errors import RampartError

if TYPE_CHECKING:
    from rampart.config import Settings

err = Console(stderr=True)
CRASH_LOG = Path("var/rampart-errors.log")

F = TypeVar("F", bound=Callable[..., Any])
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML settings file.", show_default=False)
]


def friendly(func: F) -> F:
    """Turn every error into one sentence on stderr and a non-zero exit code. The body runs
    with the garbage collector back on (``rampart.cli.collector``)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        resume_collector()
        try:
            return func(*args, **kwargs)
        except RampartError as exc:
            err.print(Text.assemble(("Error: ", "bold red"), exc.message), highlight=False)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err.print("Interrupted.")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:  # the last line of defence: log it, say it plainly
            CRASH_LOG.parent.mkdir(parents=True, exist_ok=True)
            with CRASH_LOG.open("a", encoding="utf-8") as handle:
                handle.write(f"--- {datetime.now(UTC).isoformat()}\n{traceback.format_exc()}\n")
            err.print(
                Text.assemble(
                    ("Unexpected error: ", "bold red"),
                    f"{type(exc).__name__}: {exc}. Details were written to {CRASH_LOG}.",
                ),
                highlight=False,
            )
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def load_settings(path: Path | None = None) -> Settings:
    """:func:`rampart.config.load_settings`, imported when a command reads its settings, with
    the backup before a schema migration installed for the store it names.

    Importing ``rampart.config`` loads pydantic, pydantic-settings and every settings section
    (a tenth of a second and more); ``rampart --help`` and a mistyped command never need it.
    """
    from rampart.config import load_settings as load
    from rampart.wiring.backups import guard_migrations

    settings = load(path)
    # Whichever command opens the store first after an upgrade migrates it: each one backs it
    # up first (or says why it cannot), so an upgrade can always be undone.
    guard_migrations(settings, lambda text: err.print(text, highlight=False, markup=False))
    return settings


def recorded_now_ms(engine: Any) -> int:
    """Now on the clock of the service that runs on ``engine``'s database (see below)."""
    from rampart.store.service_clock import RecordedClock

    return RecordedClock(engine).now_ms()


def service_now_ms(url: str) -> int:
    """Now on the service's clock (its simulated feed's time when it trades one), read from
    the store at ``url``; the wall clock when no service has recorded its time there."""
    from rampart.store.db import open_database
    from rampart.store.service_clock import RecordedClock

    engine = open_database(url, migrate=False)
    try:
        return RecordedClock(engine).now_ms()
    finally:
        engine.dispose()
