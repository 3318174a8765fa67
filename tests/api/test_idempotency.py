"""Lost responses on creates: the provider adopts its own object, never duplicates it.

A ``LossyClient`` commits a write in the fake and then raises ``TransportError`` (what the
client raises when the connection drops after the request was sent), the way the emulator's
``rate_drop`` fault does end to end (tests/e2e/test_faults.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from skyflow_provider.api import idempotency
from skyflow_provider.http.errors import InvalidArgumentError, ServerError, TransportError
from skyflow_provider.resources.api_key import ApiKeyProvider
from skyflow_provider.resources.base import SkyflowProviderError
from skyflow_provider.resources.policy import PolicyProvider
from skyflow_provider.resources.policy_assignment import PolicyAssignmentProvider
from skyflow_provider.resources.role import RoleProvider
from skyflow_provider.resources.role_assignment import RoleAssignmentProvider
from skyflow_provider.resources.service_account import ServiceAccountProvider
from skyflow_provider.resources.service_account_key import ServiceAccountKeyProvider
from tests.fakes import FakeClient, FakeTokens

WRITES = ("create_service_account", "create_key", "create_api_key", "create_role",
          "create_policy", "assign_role", "assign_policy")


class LossyClient(FakeClient):
    """Commits the next ``lose[op]`` calls of op, then drops the response."""

    def __init__(self, **lose: int) -> None:
        super().__init__()
        self.lose = dict(lose)
        self.fail_before = 0  # answers 503 *before* committing, this many times
        for op in WRITES:
            real = getattr(FakeClient, op)
            setattr(self, op, self._wrap(op, real))

    def _wrap(self, op: str, real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            if self.fail_before > 0:
                self.fail_before -= 1
                raise ServerError(f"{op} failed", status=503)
            resp = real(self, *args, **kwargs)
            self._tag_owner(op, args, resp)
            if self.lose.get(op, 0) > 0:
                self.lose[op] -= 1
                raise TransportError(f"{op}: no response (connection reset)")
            return resp
        return call

    def _tag_owner(self, op: str, args: tuple[Any, ...], resp: dict[str, Any]) -> None:
        """Record which account a key belongs to (list_keys/list_api_keys filter on it)."""
        sa_id = resp.get("clientID") or (args[0] if args else None)
        if op in ("create_service_account", "create_key") and resp.get("keyID"):
            self.keys.setdefault(resp["keyID"], {"keyID": resp["keyID"]})["saID"] = sa_id
        if op in ("create_service_account", "create_api_key") and resp.get("apiKeyID"):
            self.api_keys.setdefault(resp["apiKeyID"], {"keyID": resp["apiKeyID"]})[
                "saID"] = sa_id


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idempotency.time, "sleep", lambda _s: None)


def provider(cls: type, client: FakeClient) -> Any:
    p = cls()
    p._client = client
    return p


def sa_props(name: str = "svc", auth: str = "jwt") -> dict[str, Any]:
    p = provider(ServiceAccountProvider, FakeClient())
    return p.check({}, {"name": name, "auth_type": auth}).inputs


@pytest.mark.parametrize("auth", ["jwt", "api_key"])
def test_lost_service_account_create_is_adopted_with_a_fresh_key(auth: str) -> None:
    client = LossyClient(create_service_account=1)
    p = provider(ServiceAccountProvider, client)
    created = p.create(sa_props("dev-svc", auth))
    assert len(client.sas) == 1, "exactly one account: adopted, not duplicated"
    assert created.id == next(iter(client.sas))
    if auth == "jwt":
        live = [k for k in client.keys.values() if k.get("saID") == created.id]
        assert [k["keyID"] for k in live] == [created.outs["key_id"]], "lost key deleted"
        assert "PRIVATE KEY" in created.outs["private_key"]
        assert created.id in created.outs["credentials"]
    else:
        live = [k for k in client.api_keys.values() if k.get("saID") == created.id]
        assert [k["keyID"] for k in live] == [created.outs["api_key_id"]]
        assert created.outs["api_key"].startswith("sky-")


def test_an_account_of_the_name_made_by_another_token_is_never_adopted() -> None:
    """Issue 22: after a lost response only what this process's own tokens created is adopted
    (the audit log's jwtID), however recent the other one is and whoever created it."""
    client = LossyClient()
    client.tokens = FakeTokens("jti-another-stack-same-identity")
    theirs = client.create_service_account({"serviceAccount": {"name": "dev-svc"}})["clientID"]
    client.tokens = FakeTokens("jti-this-process")
    client.lose["create_service_account"] = 1
    created = provider(ServiceAccountProvider, client).create(sa_props("dev-svc"))
    assert created.id != theirs and set(client.sas) == {theirs, created.id}
    assert [k["keyID"] for k in client.keys.values() if k.get("saID") == theirs]


def test_an_unproven_namesake_is_named_and_left_when_the_create_is_sent_again(
        caplog: pytest.LogCaptureFixture) -> None:
    """A 503 before commit with another team's account of the name live: the create is sent
    again, theirs is untouched, and the warning names it (a create of ours whose audit event
    Skyflow lost would look the same, so the user must hear of it)."""
    client = LossyClient()
    client.tokens = FakeTokens("jti-another-team")
    theirs = client.create_service_account({"serviceAccount": {"name": "dev-svc"}})["clientID"]
    client.tokens = FakeTokens("jti-this-process")
    client.fail_before = 1
    created = provider(ServiceAccountProvider, client).create(sa_props("dev-svc"))
    assert created.id != theirs and set(client.sas) == {theirs, created.id}
    assert f"{theirs} of this name exist(s) that this process did not make" in caplog.text
    assert "untouched; sending the create again" in caplog.text


def test_without_the_audit_log_a_lost_create_adopts_nothing_and_names_the_way_out() -> None:
    client = LossyClient(create_service_account=1)
    client.audit_denied = True
    with pytest.raises(SkyflowProviderError, match=r"response was lost.*sa0001.*audit.*adopt_id"):
        provider(ServiceAccountProvider, client).create(sa_props("dev-svc"))
    assert len(client.sas) == 1


def test_create_answered_503_before_commit_is_sent_again() -> None:
    client = LossyClient()
    client.fail_before = 1
    created = provider(RoleProvider, client).create(
        {"vault_id": "v1", "name": "dev-reader", "permissions": ["vault.read"]})
    custom = [r for r in client.roles.values() if r["definition"]["name"] == "dev-reader"]
    assert [r["ID"] for r in custom] == [created.id]


def test_lost_role_and_policy_creates_are_adopted() -> None:
    client = LossyClient(create_role=1, create_policy=1)
    role = provider(RoleProvider, client).create({"vault_id": "v1", "name": "dev-reader"})
    assert [r["ID"] for r in client.roles.values()
            if r["definition"]["name"] == "dev-reader"] == [role.id]
    pol = provider(PolicyProvider, client)
    inputs = pol.check({}, {"vault_id": "v1", "name": "devPii", "rules": [
        {"name": "R1", "actions": ["READ"], "columns": ["persons.ssn"]}]}).inputs
    created = pol.create(inputs)
    assert list(client.policies) == [created.id]


def test_lost_key_creates_leave_no_orphan_key() -> None:
    client = LossyClient()
    sa = client.create_service_account({"serviceAccount": {"name": "a"}})
    api = client.create_service_account({"serviceAccount": {"name": "b"}, "apiKeyEnabled": True})
    client.lose.update(create_key=1, create_api_key=1)
    key = provider(ServiceAccountKeyProvider, client).create(
        {"service_account_id": sa["clientID"]})
    keys = sorted(k["keyID"] for k in client.keys.values() if k["saID"] == sa["clientID"])
    assert keys == sorted([sa["keyID"], key.outs["key_id"]])
    ak = provider(ApiKeyProvider, client).create({"service_account_id": api["clientID"]})
    akeys = sorted(k["keyID"] for k in client.api_keys.values() if k["saID"] == api["clientID"])
    assert akeys == sorted([api["apiKeyID"], ak.outs["key_id"]])


def test_a_lost_key_create_without_the_audit_log_deletes_no_key(caplog) -> None:
    """The key the lost request made cannot be told from the others: none is deleted (a
    refresh lists it), and the key is minted again."""
    client = LossyClient()
    sa = client.create_service_account({"serviceAccount": {"name": "a"}})
    client.lose.update(create_key=1)
    client.audit_denied = True
    key = provider(ServiceAccountKeyProvider, client).create(
        {"service_account_id": sa["clientID"]})
    keys = [k for k, v in client.keys.items() if v["saID"] == sa["clientID"]]
    assert len(keys) == 3 and key.outs["key_id"] in keys and sa["keyID"] in keys
    assert "none is deleted" in caplog.text


def test_a_failed_namespace_sample_never_fails_the_create_it_follows() -> None:
    """The object exists once the create answered: a 500 on the small listing that derives its
    namespace must not fail the create (the object would be left unrecorded)."""
    client = FakeClient()

    def broken(*_a: Any, **_kw: Any) -> list[Any]:
        raise ServerError("list roles failed", status=500)

    client.list_roles = broken  # type: ignore[method-assign]
    role = provider(RoleProvider, client).create({"vault_id": "v1", "name": "dev-reader"})
    assert role.id in client.roles and role.outs["namespace"] == ""


def test_lost_assignments_are_recognised() -> None:
    client = LossyClient(assign_role=1, assign_policy=1)
    sa = client.create_service_account({"serviceAccount": {"name": "a"}})
    ra = provider(RoleAssignmentProvider, client).create(
        {"role_id": "sysedit", "service_account_id": sa["clientID"]})
    assert ra.id == f"sysedit:{sa['clientID']}"
    assert [m["ID"] for m in client.members["sysedit"]] == [sa["clientID"]]
    assert client.calls.count("assign_role") == 1, "not assigned twice"
    pid = client.create_policy({"name": "p", "displayName": "p", "description": "",
                                "resource": {"ID": "v1", "type": "VAULT"}, "ruleParams": []})
    provider(PolicyAssignmentProvider, client).create(
        {"policy_id": pid["ID"], "role_ids": ["sysedit"]})
    assert client.role_policies["sysedit"] == {pid["ID"]}


def test_ambiguous_adoption_is_refused_with_the_candidates_named() -> None:
    client = FakeClient()

    def create() -> dict[str, Any]:  # two objects appear "at once", and no answer comes back
        client.create_service_account({"serviceAccount": {"name": "x"}})
        client.create_service_account({"serviceAccount": {"name": "x"}})
        raise TransportError("no response")

    with pytest.raises(idempotency.AdoptionError, match="2 new objects"):
        idempotency.create_or_adopt(
            "create service account 'x'", create, idempotency.sa_listing(client, "x"),
            proof=idempotency.process_proof(client, "/v1/serviceAccounts"))


def test_definite_errors_are_not_retried() -> None:
    calls = []

    def create() -> dict[str, Any]:
        calls.append(1)
        raise InvalidArgumentError("bad", status=400)

    with pytest.raises(InvalidArgumentError):
        idempotency.create_or_adopt("create", create, lambda: {})
    assert calls == [1]


def test_gives_up_after_the_attempts_with_the_last_error() -> None:
    def create() -> dict[str, Any]:
        raise TransportError("no response")

    with pytest.raises(TransportError):
        idempotency.create_or_adopt("create", create, lambda: {})
