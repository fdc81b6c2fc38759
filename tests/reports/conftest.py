"""The live API service fixture, shared with tests/api."""

from tests.api.conftest import live  # noqa: F401
