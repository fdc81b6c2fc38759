"""Seeing the service: logging, Prometheus metrics, alert rules and engine, incidents,
dashboards, rule export and the doctor."""
