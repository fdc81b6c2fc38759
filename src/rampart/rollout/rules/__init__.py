"""Staged rollout rules (pure): gate comparisons and promotion decisions, on the domain only."""
