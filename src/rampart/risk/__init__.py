"""The risk engine: profiles, pre-trade checks, position sizing and circuit breakers.

Pure decisions over the domain: no I/O, no clock reads; time arrives as event timestamps.

Import from the submodule that holds a name (``rampart.risk.breakers``, ``.checks``,
``.profiles``, ``.sizing``, ``.codes``): this package imports nothing, so a command that needs
only a breaker's ``Trip`` does not load the pre-trade checks with it.
"""
