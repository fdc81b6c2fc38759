"""``store:`` settings: the database URL and how often the writer checkpoints."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator

from rampart.settings_base import Section, refusal


class StoreConfig(Section):
    url: str = "sqlite:///var/rampart.db"
    checkpoint_every: int = Field(default=500, ge=1)
    """Candles between checkpoints (each one flush of batched writes) in ``rampart run``."""
    replay_checkpoint_every: int = Field(default=10_000, ge=1)
    """The same for ``rampart replay``, where a crash only costs re-running some candles. Its
    first checkpoint comes after half as many. Each later one forks a writer child on SQLite
    (about 6 ms of the replay's own time: the fork and the copy-on-write faults after it), so
    fewer, larger batches run faster; the batch held until its child answers stays bounded
    by ``max_unsaved_rows``."""
    max_unsaved_rows: int = Field(default=100_000, ge=1)
    """Rows held in memory before they are written without waiting for the checkpoint; while
    the database refuses writes, entries stay halted and no row is ever dropped (see
    ``rampart.store.writer.MAX_UNSAVED_ROWS``)."""
    slow_query_ms: float = Field(default=500.0, ge=0)
    """A statement slower than this is logged as ``slow_query`` (0: never)."""
    allow_sqlite_on_exchange: bool = False
    """Let ``testnet`` and ``live`` modes keep their books in SQLite. Off by default: an
    exchange-facing service belongs on PostgreSQL (one file on one disk is one failure away
    from losing the record of real orders); set it for a testnet or simulator trial."""

    password: SecretStr | None = None
    """The PostgreSQL password, put into ``url`` in place of any written there: the URL can
    stay in the settings file while the password comes from a secret file
    (``RAMPART_STORE__PASSWORD_FILE``, the file PostgreSQL's ``POSTGRES_PASSWORD_FILE`` reads)."""

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return value

    @model_validator(mode="after")
    def _password_in_url(self) -> StoreConfig:
        if self.password is None:
            return self
        if not self.url.startswith("postgresql"):
            raise refusal("store.password is a PostgreSQL password; store.url is not PostgreSQL.")
        from sqlalchemy.engine import make_url  # only with a password: most runs never need it

        url = make_url(self.url).set(password=self.password.get_secret_value())
        self.url = url.render_as_string(hide_password=False)
        return self


__all__ = ["StoreConfig"]
