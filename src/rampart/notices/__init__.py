"""What investors are told and how it reaches them: the notices built from the engine's
events (investor and money notices), each investor's preferences and the outbox that saves
and sends them. Application layer: above the adapters, below the fronts (architecture.md)."""
