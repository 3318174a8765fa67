"""Management API calls per resource (docs/performance.md fixes 2, 3 and 5), counted on the fake."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import skyflow_provider.credentials as creds_mod
from skyflow_provider.resources import role_lookup as role_mod
from skyflow_provider.credentials import credentials_from_dict
from skyflow_provider.resources.role_lookup import find_role_id
from skyflow_provider.role_assignment import RoleAssignmentProvider
from skyflow_provider.resources.keys import credentials_json
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


# ----- fix 3: refresh reads one assignment with one GET -------------------------------------------
def test_assignment_read_is_one_call_however_many_members_the_role_has(make, fake) -> None:
    sa, ra = make(ServiceAccountProvider), make(RoleAssignmentProvider)
    ids = [sa.create(checked(sa, {"name": f"sa{i}"})).id for i in range(60)]
    results = [ra.create(checked(ra, {"role_id": "sysedit", "service_account_id": i}))
               for i in ids]
    fake.calls.clear()
    for res in results:
        assert ra.read(res.id, res.outs).id == res.id
    assert fake.calls == ["list_member_roles"] * len(results)  # was 3 pages each at 60 members


def test_assignment_read_role_or_member_gone(make, fake) -> None:
    sa, ra = make(ServiceAccountProvider), make(RoleAssignmentProvider)
    sa_id = sa.create(checked(sa, {"name": "x"})).id
    res = ra.create(checked(ra, {"role_id": "sysedit", "service_account_id": sa_id}))
    fake.unassign_role("sysedit", [{"ID": sa_id, "type": "SERVICE_ACCOUNT"}])
    assert ra.read(res.id, res.outs).id is None  # unassigned elsewhere
    ra.create(checked(ra, {"role_id": "sysedit", "service_account_id": sa_id}))
    fake.roles.pop("sysedit")
    assert ra.read(res.id, res.outs).id is None  # role deleted
    fake.roles["sysedit"] = {"ID": "sysedit", "definition": {"name": "VAULT_EDITOR"},
                             "resource": {"ID": "v1", "type": "VAULT"}}
    fake.sas.pop(sa_id)
    assert ra.read(res.id, res.outs).id is None  # member deleted: 404


def test_assignment_read_falls_back_when_member_roles_is_refused(make, fake) -> None:
    from skyflow_provider.errors import InvalidArgumentError

    sa, ra = make(ServiceAccountProvider), make(RoleAssignmentProvider)
    sa_id = sa.create(checked(sa, {"name": "x"})).id
    res = ra.create(checked(ra, {"role_id": "sysedit", "service_account_id": sa_id}))

    def refuse(*_a, **_k):
        raise InvalidArgumentError("filterOps.resource.ID: required", status=400)

    fake.list_member_roles = refuse
    assert ra.read(res.id, res.outs).id == res.id
    assert fake.calls[-1] == "list_role_members"


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


# ----- fix 5a: no GET after create when the response carries the namespace ----------------------
def test_create_reads_namespace_only_when_the_response_lacks_it(make, fake) -> None:
    sa = make(ServiceAccountProvider)
    created = sa.create(checked(sa, {"name": "a"}))
    assert created.outs["namespace"] == f"ns/{created.id}"
    assert fake.calls.count("get_service_account") == 1  # spec/emulator: no namespace
    original = fake.create_service_account

    def with_namespace(body):
        resp = original(body)
        return {**resp, "namespace": f"ns/{resp['clientID']}"}

    fake.create_service_account = with_namespace
    fake.calls.clear()
    created = sa.create(checked(sa, {"name": "b"}))
    assert created.outs["namespace"] == f"ns/{created.id}"
    assert "get_service_account" not in fake.calls


# ----- fix 2: credentials.json without parsing the new key ---------------------------------------
def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.mark.parametrize("pad", ["", "  "])
def test_credentials_json_is_byte_identical_and_does_not_parse_the_key(monkeypatch, pad) -> None:
    resp = {"clientID": pad + "c1" + pad, "clientName": "n \u00e9", "tokenURI":
            "https://manage.example.com/v1/auth/sa/oauth/token" + pad, "keyID": "k1" + pad,
            "privateKey": _pem(), "keyValidAfterTime": "2026-01-01T00:00:00Z",
            "keyValidBeforeTime": "2027-01-01T00:00:00Z", "keyAlgorithm": "KEY_ALG_RSA_2048",
            "apiKeyID": "", "apiKey": ""}
    expected = credentials_from_dict(resp).to_json()

    def boom(*_a, **_k):
        raise AssertionError("the private key was parsed")

    monkeypatch.setattr(creds_mod, "_load_private_key", boom)
    monkeypatch.setattr(serialization, "load_pem_private_key", boom)
    assert credentials_json(resp) == expected
