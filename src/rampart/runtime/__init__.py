"""Keeping the service running: supervisor, scheduler, shutdown, health probes, business time,
backoff, rate limiting and the messaging port. Infrastructure: it imports no adapter (the
instance lock, which holds a database lock, lives in the store; the notices in notices/)."""
