"""The rate measurement itself works (short and bounded); numbers are in docs/emulator.md."""

from __future__ import annotations

import pytest

from tests.helpers.emulator_proc import EmulatorProcess

from .measure_rate import measure


@pytest.mark.slow
def test_sustained_rate_smoke(fresh_emu: EmulatorProcess) -> None:
    rates = measure(fresh_emu, seconds=1.0, threads=4)
    assert set(rates) == {"read", "write", "token"}
    # a generous floor: this only catches a server that serialises or stalls badly
    assert all(rate > 10 for rate in rates.values()), rates
    log = fresh_emu.read_request_log()
    assert sum(e["operation"] == "RoleService_AssignRole" for e in log) >= 10
