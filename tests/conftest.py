"""Suite-wide test settings and shared fixtures.

Property-based tests explore new random inputs on every local run, which is how they find bugs;
in CI (``CI=true``) they are derandomized, so a red build always reproduces and never depends on
the draw. Run ``CI=true make test`` to replay exactly what CI ran.

Fixtures: ``fake``/``make`` wire provider classes to the in-memory :class:`tests.fakes.FakeClient`
(no settings, no network); ``emulator``/``emu``/``emu_env``/``emu_settings``/``make_client`` give
a real emulator process (HTTPS, private CA) per session. ``tests/emulator``, ``tests/e2e`` and
``tests/vending`` override ``emulator``/``emu`` with their own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import settings

from skyflow_provider.api.client import ManagementClient
from skyflow_provider.api.settings import ProviderSettings, settings_from_config
from tests.fakes import FakeClient
from tests.helpers.emulator_proc import EmulatorProcess

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    settings.load_profile("ci")


# --------------------------------------------------------------------------- fake client


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


# --------------------------------------------------------------------------- real emulator


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess() as emu:
        yield emu


@pytest.fixture
def emu(emulator: EmulatorProcess) -> Iterator[EmulatorProcess]:
    """The session emulator, with faults cleared before and after the test."""
    emulator.clear_faults()
    yield emulator
    emulator.clear_faults()


@pytest.fixture
def emu_env(emu: EmulatorProcess) -> dict[str, str]:
    return {
        "SKYFLOW_ACCOUNT_ID": emu.account_id,
        "SKYFLOW_CREDENTIALS_FILE": str(emu.admin_credentials_path),
        "SKYFLOW_CA_BUNDLE": str(emu.ca_bundle),
    }


@pytest.fixture
def emu_settings(emu_env: dict[str, str]) -> ProviderSettings:
    return settings_from_config(lambda _k: None, emu_env)


@pytest.fixture
def make_client(emu_settings: ProviderSettings) -> Callable[..., ManagementClient]:
    def _make(**kwargs: Any) -> ManagementClient:
        kwargs.setdefault("backoff_factor", 0.05)
        return ManagementClient(emu_settings, **kwargs)

    return _make


def count_log(emu: EmulatorProcess, *, method: str | None = None, template: str | None = None,
              since: int = 0, status: int | None = None) -> int:
    entries = emu.read_request_log()[since:]
    return sum(1 for e in entries
               if (method is None or e["method"] == method)
               and (template is None or e["template"] == template)
               and (status is None or e["status"] == status))


TOKEN_TEMPLATE = "/v1/auth/sa/oauth/token"
