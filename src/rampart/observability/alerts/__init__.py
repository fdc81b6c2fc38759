"""In-service alerting: rules, the signals they measure, and the engine that evaluates them."""
