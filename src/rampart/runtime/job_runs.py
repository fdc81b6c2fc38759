"""The scheduler's record of each job's last slot, and the port it is kept through.

The scheduler (infrastructure) imports no adapter: it reads and writes job runs through
:class:`JobRuns`, which the store implements (``store.ops_records.StoredJobRuns``, the
``scheduler_runs`` table) and the composition root hands it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class JobRun:
    job: str
    last_slot: int
    last_run_at: int
    status: str
    detail: str


class JobRuns(Protocol):
    def last(self, job: str) -> JobRun | None:
        """The job's last recorded run, or None when it never ran."""

    def save(self, run: JobRun) -> None:
        """Record the run (it replaces the job's previous one)."""

    def all(self) -> list[JobRun]:
        """Every job's last run, by job name."""
