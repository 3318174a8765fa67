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

from tests.e2e.conftest import api_requests, list_service_accounts
from tests.helpers.figures import record

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


def add_accounts(emu, count: int) -> None:
    """``count`` other teams' service accounts, written straight into the emulator's store (as
    the API would store them; the API would take minutes of key generation)."""
    from skyflow_emulator.store import Store
    from skyflow_emulator.util import audit, new_id

    store = Store(emu.data_dir / "emulator.db")
    try:
        with store.write() as tx:
            for i in range(count):
                sa_id, name = new_id(), f"other-team-{i:05d}"
                tx.put("sa", sa_id, {
                    "ID": sa_id, "accountID": emu.account_id, "name": name, "displayName": name,
                    "description": "", "ipAllowlist": {"status": "INACTIVE", "cidrBlocks": []},
                    "namespace": f"skyflow:emulator/account:{emu.account_id}/tenant:"
                                 f"{emu.account_id}/serviceAccount:{sa_id}",
                    "status": "ACTIVE", "BasicAudit": audit("someone-else"),
                    "clientConfiguration": {"enforceContextID": False,
                                            "enforceSignedDataTokens": False},
                    "apiKeyEnabled": False}, account_id=emu.account_id, name=name)
    finally:
        store.close()


def test_an_up_costs_the_same_calls_in_an_account_of_1000_others(emulator, project_factory):
    """Issue 26: 5 API-key accounts + 5 role assignments, in an account holding only the admin
    and then in one holding 1000 other service accounts: the calls must not grow with the
    account (before: 13 and 53, the name snapshot paged through every account)."""
    calls: dict[str, Counter[str]] = {}
    for label, others in (("empty", 0), ("crowded", 1000)):
        add_accounts(emulator, others)
        assert len(list_service_accounts(emulator)) == (1 if not others else 100)  # one page
        proj = project_factory(PROGRAM, name=f"size-{label}", stack=label)
        for key, value in (("mode", "skyflow"), ("n", "5"), ("prefix", f"size-{label}"),
                           ("vaultId", emulator.vault_id), ("auth", "api_key")):
            proj.config_set(key, value)
        start = len(api_requests(emulator))
        proj.up()
        calls[label] = _ops(emulator, start)
        assert sum(v for k, v in calls[label].items() if k.endswith("CreateServiceAccount")) == 5
    empty, crowded = sum(calls["empty"].values()), sum(calls["crowded"].values())
    print(f"5 + 5 up: {empty} calls in an empty account, {crowded} beside 1000 others "
          f"{dict(calls['crowded'])}")
    assert crowded <= 1.1 * empty, (calls["empty"], calls["crowded"])
    assert calls["crowded"]["ServiceAccountService_ListServiceAccounts"] <= 1
    record("account_size_calls_5_accounts_5_assignments", calls_empty_account=empty,
           calls_beside_1000_accounts=crowded, ratio=round(crowded / empty, 2),
           before_issue_26="13 and 53 (40 pages of 25)", time_ratio="make bench")


def test_wire_floor_makes_one_get_per_provider_call(emulator, project_factory):
    """make bench-1000's "floor + 1 API call": every create, read and delete of the do-nothing
    floor sends exactly one GET, after one token exchange per provider process, and creates
    nothing in Skyflow. Its ratio to the floor is the price of the call itself."""
    n = 3
    repo = Path(__file__).resolve().parents[2]
    proj = project_factory(PROGRAM, name="wire", env={"PYTHONPATH": str(repo)})
    for key, value in (("mode", "wire"), ("n", str(n)), ("prefix", "wire"),
                       ("vaultId", emulator.vault_id)):
        proj.config_set(key, value)
    accounts = {a["ID"] for a in list_service_accounts(emulator)}
    for command in (proj.up, proj.refresh, proj.destroy):
        start = len(api_requests(emulator))
        command()
        entries = api_requests(emulator, start)
        assert _ops(emulator, start) == {"ServiceAccountService_GetServiceAccount": 2 * n}
        assert all(e["status"] == 200 for e in entries)
        tokens = [e for e in entries if "/auth/" in str(e.get("template"))]
        assert len(tokens) == 1, command
    assert {a["ID"] for a in list_service_accounts(emulator)} == accounts


def test_wire_create_floor_posts_one_create_per_create_and_deletes_it(emulator, project_factory):
    """make bench's "floor + 1 create call": each create step POSTs the cheapest create (an
    API-key service account), refresh still GETs, and each delete step DELETEs the account its
    create made, so the floor leaves nothing behind."""
    n = 2
    repo = Path(__file__).resolve().parents[2]
    proj = project_factory(PROGRAM, name="wirecreate", env={"PYTHONPATH": str(repo)})
    for key, value in (("mode", "wire_create"), ("n", str(n)), ("prefix", "wirec"),
                       ("shape", "accounts"), ("vaultId", emulator.vault_id)):
        proj.config_set(key, value)
    before = {a["ID"] for a in list_service_accounts(emulator)}
    expected = {proj.up: "ServiceAccountService_CreateServiceAccount",
                proj.refresh: "ServiceAccountService_GetServiceAccount",
                proj.destroy: "ServiceAccountService_DeleteServiceAccount"}
    for command, operation in expected.items():
        start = len(api_requests(emulator))
        command()
        assert _ops(emulator, start) == {operation: n}
        assert all(e["status"] == 200 for e in api_requests(emulator, start))
        if command == proj.up:
            made = {a["ID"] for a in list_service_accounts(emulator)} - before
            assert len(made) == n
            assert {r["id"] for r in proj.resources()
                    if r["type"].endswith("floor:Account")} == made
    assert {a["ID"] for a in list_service_accounts(emulator)} == before
