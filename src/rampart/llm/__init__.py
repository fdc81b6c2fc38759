"""LLM adapter: an OpenAI-compatible chat-completions client, its cache, budget and decisions.

Fail safe by construction: every failure (timeout, refusal, invalid answer, spent budget) is a
counted outcome that produces no trade, never an exception into the engine.
"""
