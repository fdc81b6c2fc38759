"""Pure domain model: money, instruments, orders, fills, positions, intents, events.

Nothing in this package performs I/O or imports a framework.
"""
