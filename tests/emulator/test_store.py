"""The emulator's store: a request's writes commit as one transaction with its audit event.

Why it matters: the provider proves an object is its own through the audit log. Were an object
committed and its audit event not (a crash between the two), nobody could prove who made it and
the provider's retry would make a second one.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from skyflow_emulator import bootstrap
from skyflow_emulator import store as store_module
from skyflow_emulator.app import App
from skyflow_emulator.auth import TokenIssuer
from skyflow_emulator.faults import FaultConfig, Faults
from skyflow_emulator.models.audit import AuditLog
from skyflow_emulator.requestlog import RequestLog
from skyflow_emulator.state import State
from skyflow_emulator.store import Store


class Crash(BaseException):
    """Stands for the process dying mid-request (not an Exception a handler could catch)."""


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state.db")


def elsewhere(store: Store, obj_id: str) -> dict[str, object] | None:
    """What another thread (another connection) sees of object ``obj_id``."""
    seen: list[dict[str, object] | None] = []

    def look() -> None:
        with store.read() as tx:
            seen.append(tx.get("sa", obj_id))
    t = threading.Thread(target=look)
    t.start()
    t.join(10)
    return seen[0]


def event(obj_id: str) -> dict[str, Any]:
    """A minimal audit event naming service account ``obj_id``."""
    return {"accountID": "acct", "response": {"code": 200},
            "context": {"bearerTokenContextID": "", "actor": "admin", "jwtID": "j",
                        "requestID": f"r-{obj_id}", "changeID": f"c-{obj_id}"},
            "request": {"httpInfo": {"method": "POST", "URI": "/v1/serviceAccounts"},
                        "actionType": "CREATE", "resourceType": "SERVICE_ACCOUNT",
                        "apiName": "create", "timestamp": "2026-12-07T00:00:00Z"}}


def audited(store: Store, obj_id: str) -> list[dict[str, Any]]:
    with store.read() as tx:
        return tx.audit_find(account_id="acct", columns={}, code=None,
                             resource_ids=[f"SERVICE_ACCOUNT/{obj_id}"], start=None, end=None,
                             after=None, descending=False, limit=10, offset=0)


def test_a_requests_writes_are_seen_only_once_it_ends(store: Store) -> None:
    with store.request():
        with store.write() as tx:
            tx.put("sa", "a", {"ID": "a"})
        with store.read() as tx:
            assert tx.get("sa", "a") == {"ID": "a"}  # the request reads what it wrote
        assert elsewhere(store, "a") is None  # nobody else does yet
        with store.write() as tx:
            tx.audit_add(event("a"), ["SERVICE_ACCOUNT/a"])
    assert elsewhere(store, "a") == {"ID": "a"}
    assert audited(store, "a") == [event("a")]


def test_a_crash_before_the_audit_event_leaves_no_object(store: Store) -> None:
    with pytest.raises(Crash), store.request():
        with store.write() as tx:
            tx.put("sa", "b", {"ID": "b"})
        raise Crash()
    assert elsewhere(store, "b") is None and audited(store, "b") == []
    with store.request(), store.write() as tx:  # the store is usable again (lock released)
        tx.put("sa", "c", {"ID": "c"})
    assert elsewhere(store, "c") == {"ID": "c"}


def test_a_failed_write_block_undoes_only_itself(store: Store) -> None:
    with store.request():
        with store.write() as tx:
            tx.put("sa", "d", {"ID": "d"})
        with pytest.raises(ValueError), store.write() as tx:
            tx.put("sa", "e", {"ID": "e"})
            raise ValueError("a handler's own check failed")
    assert elsewhere(store, "d") == {"ID": "d"}
    assert elsewhere(store, "e") is None


def test_a_failed_nested_write_block_undoes_only_itself(store: Store) -> None:
    with store.request(), store.write() as outer:
        outer.put("sa", "j", {"ID": "j"})
        with pytest.raises(ValueError), store.write() as inner:
            inner.put("sa", "k", {"ID": "k"})
            raise ValueError("a nested check failed")
        outer.put("sa", "l", {"ID": "l"})
    assert elsewhere(store, "j") == {"ID": "j"} and elsewhere(store, "l") == {"ID": "l"}
    assert elsewhere(store, "k") is None


def test_writes_outside_a_request_wait_for_it(store: Store) -> None:
    done = threading.Event()

    def other() -> None:
        with store.write() as tx:
            tx.put("sa", "g", {"ID": "g"})
        done.set()

    with store.request():
        with store.write() as tx:
            tx.put("sa", "f", {"ID": "f"})
        t = threading.Thread(target=other)
        t.start()
        assert not done.wait(0.3)  # serialised behind the open request
    assert done.wait(10)
    t.join(10)
    assert elsewhere(store, "g") == {"ID": "g"}


def test_the_app_commits_a_create_with_its_audit_event_or_not_at_all(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server dies after the create's handler and before its audit event is written: the
    policy must not survive (it would have no maker the provider could prove)."""
    store = Store(tmp_path / "emulator.db")
    account_id, admin_id, signing_key = bootstrap.bootstrap(store)
    state = State(data_dir=tmp_path, store=store, issuer=TokenIssuer(signing_key),
                  faults=Faults(FaultConfig()), log=RequestLog(tmp_path / "requests.jsonl"),
                  admin_token="unused", account_id=account_id, admin_sa_id=admin_id,
                  base_url="https://emulator.test")
    with store.read() as tx:
        [admin_key] = tx.find("sakey", parent=admin_id)
    token, _ = state.issuer.issue(subject=admin_id, account_id=account_id,
                                  key_id=admin_key["keyID"], scoped_roles=None, context=None)
    client = Client(App(state))
    vault = store_vault(store)

    def create(name: str) -> Any:
        return client.post("/v1/policies", headers={
            "Authorization": f"Bearer {token}", "X-Skyflow-Account-ID": account_id}, json={
            "name": name, "resource": {"ID": vault, "type": "VAULT"},
            "ruleParams": [{"name": "a", "ruleExpression": "ALLOW READ ON t.*"}]})

    ok = create("Kept")
    assert ok.status_code == 200, ok.text
    assert [p["name"] for p in policies(store)] == ["Kept"]

    def die(self: AuditLog, served: Any) -> None:
        raise Crash()
    monkeypatch.setattr(AuditLog, "record", die)
    with pytest.raises(Crash):
        create("Lost")
    assert [p["name"] for p in policies(store)] == ["Kept"]


def store_vault(store: Store) -> str:
    with store.read() as tx:
        return str(tx.find("vault")[0]["ID"])


def policies(store: Store) -> list[dict[str, Any]]:
    with store.read() as tx:
        return tx.find("policy")


def test_a_failed_commit_rolls_back_and_frees_the_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A COMMIT that fails (disk full, I/O error) must not leave the write lock held or an
    open transaction on a pooled connection for the next request to inherit."""
    fail = {"commit": False}

    class Flaky(sqlite3.Connection):
        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
            if sql == "COMMIT" and fail["commit"]:
                fail["commit"] = False
                raise sqlite3.OperationalError("disk I/O error")
            return super().execute(sql, *args)

    real = sqlite3.connect
    monkeypatch.setattr(store_module.sqlite3, "connect",
                        lambda *a, **kw: real(*a, **kw, factory=Flaky))
    store = Store(tmp_path / "state.db")
    with pytest.raises(sqlite3.OperationalError), store.request():
        with store.write() as tx:
            tx.put("sa", "h", {"ID": "h"})
        fail["commit"] = True
    assert elsewhere(store, "h") is None
    with store.request(), store.write() as tx:  # the lock is free, the connection clean
        tx.put("sa", "i", {"ID": "i"})
    assert elsewhere(store, "i") == {"ID": "i"}
