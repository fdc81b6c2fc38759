"""Seeing the service: logging, Prometheus metrics, alert rules and engine, incidents,
dashboards and rule export."""
