"""Management API calls per resource, counted in the emulator's request log (make bench's stack:
N service accounts, each with one VAULT_VIEWER assignment by vault_id + role_name).

docs/performance.md fixes 3 and 5(b): refresh reads an assignment with one GET (the member's
roles, not every page of the role's members) and the vault's roles are listed once per command,
not once per assignment.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.conftest import api_requests

pytestmark = pytest.mark.e2e

PROGRAM = Path(__file__).resolve().parents[2] / "benchmarks" / "program"


def _ops(emu, since: int) -> Counter[str]:
    return Counter(e["operation"] for e in api_requests(emu, since)
                   if e.get("operation") and "/auth/" not in str(e.get("template")))


# At N=30 the role has 31 members: two pages of ListMembersByRole per assignment before the fix.
@pytest.mark.parametrize("N", [10, 30])
def test_calls_per_resource(emulator, project_factory, N):  # noqa: N803 - N as in the docs
    proj = project_factory(PROGRAM, name="calls")
    for key, value in (("mode", "skyflow"), ("n", str(N)), ("prefix", "calls"),
                       ("vaultId", emulator.vault_id)):
        proj.config_set(key, value)

    start = len(api_requests(emulator))
    proj.up()
    create = _ops(emulator, start)
    print(f"create, {N} accounts + {N} assignments: {sum(create.values())} calls {dict(create)}")
    assert sum(v for k, v in create.items() if k.endswith("ListRoles")) == 1  # was N
    assert sum(v for k, v in create.items() if k.endswith("AssignRole")) == N

    start = len(api_requests(emulator))
    proj.refresh()
    refresh = _ops(emulator, start)
    print(f"refresh, {2 * N} resources: {sum(refresh.values())} calls {dict(refresh)}")
    assert sum(v for k, v in refresh.items() if k.endswith("ListRolesOfMember")) == N
    assert not any(k.endswith("ListMembersByRole") for k in refresh)
    # One GET per assignment; an account costs its GET + its key listing (issue 6 drift report).
    assert sum(refresh.values()) == 3 * N
    assert proj.resources()  # the stack is intact
    proj.preview(expect_no_changes=True)
