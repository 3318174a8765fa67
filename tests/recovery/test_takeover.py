"""recovery/takeover.py: a create that repeats a killed run's takes over the object of its name
that Skyflow's audit log proves this stack made, never another stack's or a person's (issue 22);
a create that repeats nothing looks nothing up (issue 26)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from skyflow_provider.api import idempotency
from skyflow_provider.http.errors import ConflictError
from skyflow_provider.resources.base import SkyflowProviderError
from skyflow_provider.resources.policy import PolicyProvider
from skyflow_provider.resources.role import RoleProvider
from skyflow_provider.resources.service_account import ServiceAccountProvider
from tests.fakes import FakeClient, FakeTokens

from .conftest import Killed, op

RULES = [{"name": "R1", "actions": ["READ"], "columns": ["persons.ssn"]}]


def as_identity(fake: FakeClient, adopt: bool = True) -> None:
    fake.settings = SimpleNamespace(credentials=SimpleNamespace(client_id="me"), account_id="a",
                                    adopt_own_orphans=adopt, key_drift_report=True)


def checked(p: Any, props: dict[str, Any]) -> dict[str, Any]:
    result = p.check({}, props)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return dict(result.inputs)


def left_by(fake: FakeClient, name: str, tag: str | None = "pulumi:unit/test",
            jti: str = "jti-killed-run") -> tuple[str, str]:
    """An account (with its key) that a run with token ``tag`` created and no state holds."""
    before = (fake.owner_tag, fake.tokens)
    fake.owner_tag, fake.tokens = tag, FakeTokens(jti)
    resp = fake.create_service_account({"serviceAccount": {"name": name}})
    fake.sas[resp["clientID"]]["serviceAccount"]["BasicAudit"] = {
        "CreatedBy": "me", "CreatedOn": "2026-12-06 09:00:00 +0000 UTC"}
    fake.owner_tag, fake.tokens = before
    return resp["clientID"], resp["keyID"]


def pending_account(name: str) -> dict[str, Any]:
    return op("creating", "ServiceAccount", name=name)


def test_a_plain_create_looks_nothing_up(make, fake, killed: Killed) -> None:
    """No killed run: the create alone, even beside another stack's account of the name."""
    as_identity(fake)
    cp = killed()
    theirs, their_key = left_by(fake, "dev-svc", tag="pulumi:other/prod")
    p = make(ServiceAccountProvider)
    created = p.create(checked(p, {"name": "dev-svc"}))
    assert created.id != theirs and theirs in fake.sas and their_key in fake.keys
    assert "list_audit_events" not in fake.calls and cp.exports == [1]


def test_own_leftover_is_taken_over_and_its_key_deleted(make, fake, killed: Killed) -> None:
    as_identity(fake)
    sa_id, lost_key = left_by(fake, "dev-svc")
    killed(pending_account("dev-svc"))
    p = make(ServiceAccountProvider)
    created = p.create(checked(p, {"name": "dev-svc"}))
    assert created.id == sa_id and len(fake.sas) == 1
    keys = {k for k, v in fake.keys.items() if v["saID"] == sa_id}
    assert keys == {created.outs["key_id"]} and lost_key not in keys
    # the old resource of a replace/move deleting it in the same run is skipped
    p.delete(sa_id, created.outs)
    assert sa_id in fake.sas


def test_another_stacks_account_of_the_name_is_never_taken_over(make, fake, capsys,
                                                                killed: Killed) -> None:
    """Same identity ("me"), another stack's tag: left alone, and this stack gets its own."""
    as_identity(fake)
    theirs, their_key = left_by(fake, "payments-api", tag="pulumi:team-a/prod")
    killed(pending_account("payments-api"))
    p = make(ServiceAccountProvider)
    created = p.create(checked(p, {"name": "payments-api"}))
    assert created.id != theirs and their_key in fake.keys and theirs in fake.sas
    assert not idempotency.adopted_this_run(fake, theirs)
    err = capsys.readouterr().err
    assert theirs in err and "left alone" in err


def test_without_proof_nothing_is_taken_over_and_the_ways_out_are_named(make, fake,
                                                                        killed: Killed) -> None:
    as_identity(fake)
    sa_id, key = left_by(fake, "dev-svc")
    fake.audit_denied = True
    killed(pending_account("dev-svc"))
    p = make(ServiceAccountProvider)
    with pytest.raises(SkyflowProviderError) as err:
        p.create(checked(p, {"name": "dev-svc"}))
    text = str(err.value)
    for part in (sa_id, "created by me", "cannot prove", "audit", f"adopt_id='{sa_id}'",
                 "skyflow_provider.pending", "--clear-pending-creates"):
        assert part in text, (part, text)
    assert len(fake.sas) == 1 and key in fake.keys


def test_adoption_turned_off_refuses_and_says_how(make, fake, killed: Killed) -> None:
    as_identity(fake, adopt=False)
    left_by(fake, "dev-svc")
    killed(pending_account("dev-svc"))
    p = make(ServiceAccountProvider)
    with pytest.raises(SkyflowProviderError, match=r"adoptOwnOrphans is false.*pending"):
        p.create(checked(p, {"name": "dev-svc"}))
    assert len(fake.sas) == 1


def test_several_own_leftovers_are_refused_naming_them(make, fake, killed: Killed) -> None:
    as_identity(fake)
    first, _ = left_by(fake, "dev-svc")
    second, _ = left_by(fake, "dev-svc", jti="jti-second-killed-run")
    killed(pending_account("dev-svc"))
    p = make(ServiceAccountProvider)
    with pytest.raises(SkyflowProviderError, match=rf"2 objects named 'dev-svc'.*{first}"):
        p.create(checked(p, {"name": "dev-svc"}))
    assert set(fake.sas) == {first, second}


def test_an_object_the_state_holds_is_no_leftover(make, fake, killed: Killed) -> None:
    as_identity(fake)
    held, _ = left_by(fake, "dev-svc")
    killed(pending_account("dev-svc"), resources=[{"id": held, "outputs": {}}])
    p = make(ServiceAccountProvider)
    created = p.create(checked(p, {"name": "dev-svc"}))
    assert created.id != held and held in fake.sas


def test_own_leftover_role_and_policy_are_taken_over(make, fake, killed: Killed) -> None:
    as_identity(fake)
    fake.tokens = FakeTokens("jti-killed-run")
    role_id = fake.create_role({"roleDefinition": {"name": "dev-reader", "permissions": []},
                                "resource": {"ID": "v1", "type": "VAULT"}})["ID"]
    policy_id = fake.create_policy({"name": "devPii", "displayName": "devPii",
                                    "description": "", "resource": {"ID": "v1", "type": "VAULT"},
                                    "ruleParams": []})["ID"]
    fake.tokens = FakeTokens("jti-this-process")
    killed(op("creating", "Role", name="dev-reader", vault_id="v1"),
           op("creating", "Policy", name="devPii", vault_id="v1"))
    r = make(RoleProvider)
    role = r.create(checked(r, {"vault_id": "v1", "name": "dev-reader",
                                "permissions": ["vault.read"]}))
    assert role.id == role_id
    assert [x["ID"] for x in fake.roles.values()
            if x["definition"]["name"] == "dev-reader"] == [role_id]
    pol = make(PolicyProvider)
    policy = pol.create(checked(pol, {"vault_id": "v1", "name": "devPii", "rules": RULES}))
    assert policy.id == policy_id and list(fake.policies) == [policy_id]


def test_a_role_name_taken_by_another_stack_names_its_holder(make, fake) -> None:
    """Role names are unique per vault: Skyflow refuses, the message says whose it is."""
    as_identity(fake)
    theirs = fake.create_role({"roleDefinition": {"name": "dev-reader"},
                               "resource": {"ID": "v1", "type": "VAULT"}})["ID"]
    fake.roles[theirs]["BasicAudit"] = {"CreatedBy": "them", "CreatedOn": "yesterday"}

    def conflict(_body: Any) -> Any:
        raise ConflictError("create role: conflict", status=409, operation="create role")

    fake.create_role = conflict
    r = make(RoleProvider)
    with pytest.raises(SkyflowProviderError) as err:
        r.create(checked(r, {"vault_id": "v1", "name": "dev-reader"}))
    text = str(err.value)
    assert theirs in text and "them" in text and f"adopt_id={theirs!r}" in text
    assert "never taken over" in text


def test_check_says_at_preview_what_the_up_will_do_and_changes_nothing(
        make, fake, capsys, killed: Killed) -> None:
    as_identity(fake)
    ours, _ = left_by(fake, "dev-svc")
    theirs, _ = left_by(fake, "dev-svc", tag="pulumi:team-a/prod")
    killed(pending_account("dev-svc"))
    p = make(ServiceAccountProvider)
    inputs = checked(p, {"name": "dev-svc"})  # preview runs check, and nothing else
    err = capsys.readouterr().err
    assert f"`pulumi up` takes over {ours}" in err and theirs in err and "left alone" in err
    assert set(fake.sas) == {ours, theirs} and not idempotency.adopted_this_run(fake, ours)
    listings = fake.calls.count("list_audit_events")
    assert p.create(inputs).id == ours  # the up acts on what the check found: no second query
    assert fake.calls.count("list_audit_events") == listings


def test_check_without_proof_warns_that_the_up_will_stop(make, fake, capsys,
                                                         killed: Killed) -> None:
    as_identity(fake)
    sa_id, _ = left_by(fake, "dev-svc")
    fake.audit_denied = True
    killed(pending_account("dev-svc"))
    p = make(ServiceAccountProvider)
    checked(p, {"name": "dev-svc"})
    err = capsys.readouterr().err
    assert sa_id in err and "cannot prove" in err and "`pulumi up` will stop here" in err
