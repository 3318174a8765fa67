"""Fixtures for provider tests: a real emulator process (HTTPS, private CA) per session."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# `venv/bin/pytest` does not put the repo root on sys.path; tests.helpers lives there.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from skyflow_provider.client import ManagementClient  # noqa: E402
from skyflow_provider.settings import ProviderSettings, settings_from_config  # noqa: E402
from tests.helpers.emulator_proc import EmulatorProcess  # noqa: E402


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
