"""Issues 15 and 16 at unit level: one name snapshot per process and type, objects a killed run
left are taken over on create (only this identity's; never when turned off), no key of a
taken-over account stays valid, a delete in the same run of what was taken over is skipped, and
the provider process exits when its engine is gone.
"""

from __future__ import annotations

import socket
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from skyflow_provider.api import idempotency
from skyflow_provider.recovery import ledger, lifeline
from skyflow_provider.resources.base import SkyflowProviderError
from skyflow_provider.resources.policy import PolicyProvider
from skyflow_provider.resources.role import RoleProvider
from skyflow_provider.resources.service_account import ServiceAccountProvider


def as_identity(fake: Any, me: str = "me", adopt: bool = True) -> None:
    fake.settings = SimpleNamespace(credentials=SimpleNamespace(client_id=me), account_id="a",
                                    adopt_own_orphans=adopt, key_drift_report=True)


def checked(p: Any, props: dict[str, Any]) -> dict[str, Any]:
    result = p.check({}, props)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return dict(result.inputs)


def orphan_account(fake: Any, name: str, creator: str) -> tuple[str, str]:
    """An account (with its key) that a killed run created and never recorded."""
    resp = fake.create_service_account({"serviceAccount": {"name": name}})
    fake.sas[resp["clientID"]]["serviceAccount"]["BasicAudit"] = {
        "CreatedBy": creator, "CreatedOn": "2026-12-06 09:00:00 +0000 UTC"}
    return resp["clientID"], resp["keyID"]


def test_one_listing_per_process_and_type(make, fake) -> None:
    as_identity(fake)
    calls: list[str] = []
    real = fake.list_service_accounts
    fake.list_service_accounts = lambda **kw: calls.append("list") or real(**kw)
    p = make(ServiceAccountProvider)
    for i in range(5):
        p.create(checked(p, {"name": f"sa-{i}"}))
    assert calls == ["list"]
    assert "get_service_account" not in fake.calls


def test_own_orphan_is_taken_over_and_its_key_deleted(make, fake) -> None:
    as_identity(fake)
    sa_id, lost_key = orphan_account(fake, "dev-svc", "me")
    p = make(ServiceAccountProvider)
    created = p.create(checked(p, {"name": "dev-svc"}))
    assert created.id == sa_id and len(fake.sas) == 1
    keys = {k for k, v in fake.keys.items() if v["saID"] == sa_id}
    assert keys == {created.outs["key_id"]} and lost_key not in keys
    assert created.outs["private_key"] and created.outs.get("adopt_id") is None
    # the old resource of a replace/move deleting it in the same run is skipped
    p.delete(sa_id, created.outs)
    assert sa_id in fake.sas


def test_another_identitys_object_is_refused_with_the_way_out(make, fake) -> None:
    as_identity(fake)
    sa_id, _ = orphan_account(fake, "dev-svc", "someone-else")
    p = make(ServiceAccountProvider)
    with pytest.raises(SkyflowProviderError, match=rf"{sa_id}.*someone-else.*adopt_id"):
        p.create(checked(p, {"name": "dev-svc"}))
    assert len(fake.sas) == 1 and not idempotency.adopted_this_run(fake, sa_id)


def test_adoption_turned_off_refuses_and_says_how(make, fake) -> None:
    as_identity(fake, adopt=False)
    sa_id, _ = orphan_account(fake, "dev-svc", "me")
    p = make(ServiceAccountProvider)
    with pytest.raises(SkyflowProviderError, match=r"adoptOwnOrphans is false.*pending"):
        p.create(checked(p, {"name": "dev-svc"}))
    assert len(fake.sas) == 1


def test_own_orphan_role_and_policy_are_taken_over(make, fake) -> None:
    as_identity(fake)
    role_id = fake.create_role({"roleDefinition": {"name": "dev-reader", "permissions": []},
                                "resource": {"ID": "v1", "type": "VAULT"}})["ID"]
    fake.roles[role_id]["BasicAudit"] = {"CreatedBy": "me"}
    r = make(RoleProvider)
    role = r.create(checked(r, {"vault_id": "v1", "name": "dev-reader",
                                "permissions": ["vault.read"]}))
    assert role.id == role_id
    custom = [x for x in fake.roles.values() if x["definition"]["name"] == "dev-reader"]
    assert len(custom) == 1
    pol = make(PolicyProvider)
    inputs = checked(pol, {"vault_id": "v1", "name": "devPii", "rules": [
        {"name": "R1", "actions": ["READ"], "columns": ["persons.ssn"]}]})
    first = pol.create(inputs)
    fake.policies[first.id]["BasicAudit"] = {"CreatedBy": "me"}
    # a new process (killed run's object, next up): a fresh snapshot sees it
    fresh = type(fake)()
    fresh.policies = fake.policies
    as_identity(fresh)
    again = PolicyProvider()
    again._client = fresh
    assert again.create(inputs).id == first.id and len(fresh.policies) == 1


def test_engine_address_is_the_plugins_loopback_argument() -> None:
    assert lifeline.engine_address(["x", "127.0.0.1:4242"]) == ("127.0.0.1", 4242)
    assert lifeline.engine_address(["x", "--logtostderr"]) is None


def test_lifeline_exits_once_the_engine_stops_listening() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    exited = threading.Event()
    address = ("127.0.0.1", port)
    assert lifeline.engine_alive(address)
    t = threading.Thread(target=lifeline._watch, args=(address, 0.05,
                                                      lambda _code: exited.set()), daemon=True)
    t.start()
    time.sleep(0.2)
    assert not exited.is_set()
    server.close()
    assert exited.wait(5)


def test_several_of_the_name_are_refused_naming_them(make, fake) -> None:
    as_identity(fake)
    first, _ = orphan_account(fake, "dev-svc", "me")
    second, _ = orphan_account(fake, "dev-svc", "me")
    p = make(ServiceAccountProvider)
    with pytest.raises(SkyflowProviderError, match=rf"2 objects named 'dev-svc'.*{first}"):
        p.create(checked(p, {"name": "dev-svc"}))
    assert len(fake.sas) == 2


def test_without_a_known_identity_nothing_is_taken_over(make, fake) -> None:
    fake.settings = SimpleNamespace(credentials=None, account_id="a", adopt_own_orphans=True)
    orphan_account(fake, "dev-svc", "someone")
    p = make(ServiceAccountProvider)
    with pytest.raises(SkyflowProviderError, match="unknown: API key or bearer token"):
        p.create(checked(p, {"name": "dev-svc"}))


def test_a_deleted_account_leaves_the_snapshot(make, fake) -> None:
    """auth_type change: delete first, then create the same name; the old one is not 'found'."""
    as_identity(fake)
    p = make(ServiceAccountProvider)
    old = p.create(checked(p, {"name": "dev-svc"}))
    p.delete(old.id, old.outs)
    new = p.create(checked(p, {"name": "dev-svc", "auth_type": "api_key"}))
    assert new.id != old.id and list(fake.sas) == [new.id]


# ----- an undeliverable result is undone (SkyflowProvider.deliver) ------------------------------

@pytest.fixture
def dead_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The watched engine stopped listening: what a create makes now has nobody to go to."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    address = server.getsockname()
    server.close()
    monkeypatch.setattr(lifeline, "_engine", (address, None))


def test_engine_gone_is_asked_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifeline, "_engine", None)
    assert lifeline.engine_gone() is False  # nothing watched: never undo
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    monkeypatch.setattr(lifeline, "_engine", (server.getsockname(), None))
    assert lifeline.engine_gone() is False
    server.close()
    assert lifeline.engine_gone() is True


@pytest.mark.parametrize("kind", ["ServiceAccountKey", "ApiKey"])
def test_a_key_minted_after_the_engine_died_is_deleted(make, fake, dead_engine, kind) -> None:
    from skyflow_provider.resources.api_key import ApiKeyProvider
    from skyflow_provider.resources.service_account_key import ServiceAccountKeyProvider
    as_identity(fake)
    api = kind == "ApiKey"
    sa = fake.create_service_account({"serviceAccount": {"name": "k"}, "apiKeyEnabled": api})
    held = set(fake.api_keys if api else fake.keys)
    p = make(ApiKeyProvider if api else ServiceAccountKeyProvider)
    with pytest.raises(ledger.EngineGoneError, match=r"engine is gone: .*of service account .*"
                                                     r"deleted again"):
        p.create(checked(p, {"service_account_id": sa["clientID"]}))
    assert set(fake.api_keys if api else fake.keys) == held  # nothing left nobody holds


def test_a_rotation_after_the_engine_died_keeps_the_held_key(make, fake, monkeypatch) -> None:
    from skyflow_provider.resources.service_account_key import ServiceAccountKeyProvider
    as_identity(fake)
    sa = fake.create_service_account({"serviceAccount": {"name": "r"}})["clientID"]
    p = make(ServiceAccountKeyProvider)
    first = p.create(checked(p, {"service_account_id": sa, "rotation_trigger": "1"}))
    before = set(fake.keys)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    address = server.getsockname()
    server.close()
    monkeypatch.setattr(lifeline, "_engine", (address, None))
    news = checked(p, {"service_account_id": sa, "rotation_trigger": "2"})
    with pytest.raises(ledger.EngineGoneError, match="engine is gone"):
        p.update(first.id, first.outs, news)
    assert set(fake.keys) == before and first.outs["key_id"] in fake.keys


def test_an_account_created_after_the_engine_died_is_deleted(make, fake, dead_engine) -> None:
    as_identity(fake)
    p = make(ServiceAccountProvider)
    with pytest.raises(ledger.EngineGoneError, match="engine is gone"):
        p.create(checked(p, {"name": "late"}))
    # deleting the account deletes its key with it in Skyflow (the fake keeps the row)
    assert [s for s in fake.sas.values() if s["serviceAccount"]["name"] == "late"] == []
