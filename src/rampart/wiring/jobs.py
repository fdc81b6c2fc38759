"""The scheduler's jobs, registered when the service opens (reports, gates, backups).

Each area registers its own jobs through one function call here, so the service module only
knows that there is a scheduler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rampart.wiring.service import Service


def register_jobs(service: Service) -> None:
    """Add every scheduled job to ``service.scheduler`` (opened, with its session)."""
    assert service.scheduler is not None
    from rampart.backup.scheduled import register_backup_job

    register_backup_job(service)
    from rampart.reports.jobs import register_report_jobs

    register_report_jobs(service)
    from rampart.rollout.jobs import register_rollout_jobs

    register_rollout_jobs(service)
