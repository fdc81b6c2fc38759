"""The loops of ``rampart run``, the one-process service: the candle loop on a simulated feed
(``candle.py``, with the terminal view), the exchange loop on a venue's feed and the follow and
reconcile loops beside it (``exchange.py``), the health sampler (``health.py``) and the Solana
RPC pool's probe (``rpc_probe.py``). Each is a
component the supervisor runs (``run(stop, beat)``), built and handed its parts by the
composition root (``wiring/service.py``, ``wiring/service_loops.py``).

Dependency rule: an application package. It imports the layers below it (the engine, the
adapters, the runtime) and never ``wiring`` or ``cli``; it reads no ``rampart.config``: the
session it drives is the :class:`~rampart.loops.session.EngineSession` port, its settings the
sections that port carries. ``fleet`` reuses its one reconciliation of the books with the venue
(:func:`~rampart.loops.exchange.reconcile_venue`)."""
