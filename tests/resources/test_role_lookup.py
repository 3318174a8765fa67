"""System-role id look-ups (resources/role_lookup.py): listed once, shared by concurrent callers,
custom roles and other accounts not cached.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from skyflow_provider.resources import role_lookup as role_mod
from skyflow_provider.resources.role_assignment import RoleAssignmentProvider
from skyflow_provider.resources.role_lookup import find_role_id
from skyflow_provider.resources.service_account import ServiceAccountProvider


def checked(p, props):
    result = p.check({}, props)
    assert result.failures == []
    return result.inputs


@pytest.fixture(autouse=True)
def _empty_role_cache():
    role_mod._ROLE_ID_CACHE.clear()
    yield
    role_mod._ROLE_ID_CACHE.clear()


def _with_settings(fake, url: str = "https://emu.test", account: str = "acc1"):
    fake.settings = SimpleNamespace(management_url=url, account_id=account)
    return fake


# ----- fix 5b: a system role's id is looked up once per process ---------------------------------
def test_system_role_id_is_listed_once_for_n_assignments(make, fake) -> None:
    _with_settings(fake)
    sa, ra = make(ServiceAccountProvider), make(RoleAssignmentProvider)
    ids = [sa.create(checked(sa, {"name": f"sa{i}"})).id for i in range(10)]
    fake.calls.clear()
    for sa_id in ids:
        ra.create(checked(ra, {"vault_id": "v1", "role_name": "VAULT_EDITOR",
                               "service_account_id": sa_id}))
    assert fake.calls.count("list_roles") == 1
    assert fake.calls.count("assign_role") == 10


def test_concurrent_lookups_share_one_call(fake) -> None:
    _with_settings(fake)
    out: list[str | None] = []
    threads = [threading.Thread(target=lambda: out.append(find_role_id(fake, "v1",
                                                                       "VAULT_EDITOR")))
               for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == ["sysedit"] * 16 and fake.calls.count("list_roles") == 1


def test_custom_roles_and_other_accounts_are_not_cached(fake) -> None:
    _with_settings(fake)
    fake.roles["c1"] = {"ID": "c1", "definition": {"name": "MINE", "type": "CUSTOM"},
                        "resource": {"ID": "v1", "type": "VAULT"}}
    assert find_role_id(fake, "v1", "MINE", False) == "c1"
    assert find_role_id(fake, "v1", "MINE", False) == "c1"
    assert fake.calls.count("list_roles") == 2
    assert find_role_id(fake, "v1", "VAULT_EDITOR") == "sysedit"
    _with_settings(fake, account="acc2")  # another account: its own lookup
    assert find_role_id(fake, "v1", "VAULT_EDITOR") == "sysedit"
    assert fake.calls.count("list_roles") == 4
    role_mod.forget_role_id("sysedit")
    assert find_role_id(fake, "v1", "VAULT_EDITOR") == "sysedit"
    assert fake.calls.count("list_roles") == 5

