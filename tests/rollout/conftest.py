"""The API tests' live service fixture, reused by the rollout endpoint tests."""

from tests.api.conftest import make_live  # noqa: F401
