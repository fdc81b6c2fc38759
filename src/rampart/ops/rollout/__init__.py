"""The staged rollout's adapters: measuring gates from the store, the controller, GO/NO-GO."""
