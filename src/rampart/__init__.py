"""Rampart: automated crypto trading that is safe to launch with real money."""

__version__ = "0.1.0"
