"""The Solana tests need nothing heavy: the stand-in starts per test (see sim_helpers.py)."""
