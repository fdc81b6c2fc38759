"""The TCP relay the outage tests cut (it lives in the testkit: the scale soak cuts PostgreSQL
through it too)."""

from rampart_testkit.tcp_relay import TcpRelay

__all__ = ["TcpRelay"]
