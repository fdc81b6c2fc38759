"""Staged rollout rules (pure)."""
