"""Agents: given a read-only view of recent candles, the account and its position, propose
intents with a stop-loss and a take-profit. Built in: trend, mean reversion, breakout.

The interface is in ``rampart.agents.base``, the names and factory in
``rampart.agents.registry``; this package imports neither, so loading one agent module does
not load the rest."""
