from __future__ import annotations

import pytest

from .fake_client import FakeClient


@pytest.fixture
def fake() -> FakeClient:
    return FakeClient()


@pytest.fixture
def make(fake: FakeClient):
    """Instantiate a provider class wired to the fake client (no settings, no network)."""

    def _make(cls):
        provider = cls()
        provider._client = fake
        return provider

    return _make
