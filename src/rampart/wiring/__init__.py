"""The composition root: reads the settings, picks the concrete adapters and wires them into
the trading session, the service and its components, and the replay. Nothing below imports it."""
