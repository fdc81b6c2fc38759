"""The trading engine: order manager, brackets, position monitor, accounts."""
