"""Keeping the service running: supervisor, scheduler, instance lock, shutdown, health probes,
business time, backoff and rate limiting."""
