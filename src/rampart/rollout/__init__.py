"""The staged rollout: pure rules in :mod:`rampart.rollout.rules` (gates, decisions), and the
adapters around them — settings, measuring gates from the store, the controller, drills,
GO/NO-GO and the scheduled evaluation."""
