"""Security adapters: API tokens (stored hashed) and, later, secret encryption and audit."""
