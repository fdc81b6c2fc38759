"""The composition root: reads the settings, picks the concrete adapters and wires them into
the trading session, the service and its components, the fleet's processes and the replay. It
builds and connects and runs no loop of its own: ``rampart run``'s loops are in
``rampart.loops``, the fleet's in ``rampart.fleet``. Nothing below imports it."""
