"""Issues 15, 16 and 26 at unit level: a create lists no names (one namespace sample per
process), a result made after the engine died is undone, and the provider process exits when its
engine is gone. Taking over what a killed run left: tests/recovery/test_takeover.py.
"""

from __future__ import annotations

import socket
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from skyflow_provider.recovery import ledger, lifeline
from skyflow_provider.resources.service_account import ServiceAccountProvider


def as_identity(fake: Any, me: str = "me", adopt: bool = True) -> None:
    fake.settings = SimpleNamespace(credentials=SimpleNamespace(client_id=me), account_id="a",
                                    adopt_own_orphans=adopt, key_drift_report=True)


def checked(p: Any, props: dict[str, Any]) -> dict[str, Any]:
    result = p.check({}, props)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return dict(result.inputs)


def test_creates_list_no_names_one_namespace_sample_per_process(make, fake) -> None:
    """Issue 26: no listing whose cost grows with the account; one short page per process
    for the namespace to derive (recovery looks names up only after a killed run)."""
    as_identity(fake)
    calls: list[dict[str, Any]] = []
    real = fake.list_service_accounts
    fake.list_service_accounts = lambda **kw: calls.append(kw) or real(**kw)
    p = make(ServiceAccountProvider)
    for i in range(5):
        p.create(checked(p, {"name": f"sa-{i}"}))
    assert calls == [{"max_items": 1}]
    assert "get_service_account" not in fake.calls and "list_audit_events" not in fake.calls


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


def _key_case(fake: Any, kind: str) -> tuple[bool, type, str, set[str]]:
    """An account of the kind's auth type made as this stack's identity: (API key?, the key
    provider class, the account id, the keys it holds now)."""
    from skyflow_provider.resources.api_key import ApiKeyProvider
    from skyflow_provider.resources.service_account_key import ServiceAccountKeyProvider
    as_identity(fake)
    api = kind == "ApiKey"
    sa = fake.create_service_account({"serviceAccount": {"name": "k"}, "apiKeyEnabled": api})
    return (api, ApiKeyProvider if api else ServiceAccountKeyProvider, sa["clientID"],
            set(fake.api_keys if api else fake.keys))


@pytest.mark.parametrize("kind", ["ServiceAccountKey", "ApiKey"])
def test_no_key_is_minted_once_the_engine_is_gone(make, fake, dead_engine, kind) -> None:
    api, cls, sa_id, held = _key_case(fake, kind)
    calls = len(fake.calls)
    p = make(cls)
    with pytest.raises(ledger.EngineGoneError, match=r"engine is gone: no .*was made"):
        p.create(checked(p, {"service_account_id": sa_id}))
    assert set(fake.api_keys if api else fake.keys) == held
    assert not [c for c in fake.calls[calls:] if c.startswith("create")]


@pytest.mark.parametrize("kind", ["ServiceAccountKey", "ApiKey"])
def test_a_key_minted_while_the_engine_died_is_deleted(make, fake, monkeypatch, kind) -> None:
    api, cls, sa_id, held = _key_case(fake, kind)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    monkeypatch.setattr(lifeline, "_engine", (server.getsockname(), None))
    op = "create_api_key" if api else "create_key"
    real = getattr(fake, op)

    def engine_dies_meanwhile(sa_id: str) -> Any:
        server.close()  # the CLI is killed while the request is on its way
        return real(sa_id)

    setattr(fake, op, engine_dies_meanwhile)
    p = make(cls)
    with pytest.raises(ledger.EngineGoneError, match=r"engine is gone: .*of service account .*"
                                                     r"deleted again"):
        p.create(checked(p, {"service_account_id": sa_id}))
    assert set(fake.api_keys if api else fake.keys) == held  # nothing left nobody holds


def test_the_post_mortem_waits_for_a_mint_in_flight() -> None:
    done = threading.Event()

    def mint() -> None:
        with ledger.making("key of service account sa1"):
            done.wait(5)

    t = threading.Thread(target=mint)
    t.start()
    time.sleep(0.05)
    assert ledger.wait_idle(0.1) is False  # still running
    done.set()
    assert ledger.wait_idle(5) is True
    t.join()


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
