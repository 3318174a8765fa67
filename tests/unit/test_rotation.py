"""Rotation logic: what diff decides from state + clock, and what update does with the keys.

The clock is the provider's (``SKYFLOW_PULUMI_NOW``), so every case is deterministic. The
invariant checked throughout: a new key exists before the old one is deleted.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from skyflow_provider import rotation
from skyflow_provider.api_key import ApiKeyProvider
from skyflow_provider.provider_base import SkyflowProviderError
from skyflow_provider.service_account import ServiceAccountProvider
from skyflow_provider.service_account_key import ServiceAccountKeyProvider

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def at(monkeypatch: pytest.MonkeyPatch, t: datetime) -> None:
    monkeypatch.setenv(rotation.NOW_ENV, iso(t))


def checked(p: Any, props: dict[str, Any]) -> dict[str, Any]:
    result = p.check({}, props)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return dict(result.inputs)


KEY_STATE = {"key_id": "k1", "key_created_at": iso(T0), "valid_before": iso(T0 + timedelta(365))}


# ----- plan (pure) -------------------------------------------------------------------------------

@pytest.mark.parametrize(("olds", "news", "now", "rotate", "retire", "recreate"), [
    (KEY_STATE, {}, T0 + timedelta(days=10), False, False, False),
    ({**KEY_STATE, "rotation_trigger": "1"}, {"rotation_trigger": "1"}, T0, False, False, False),
    ({**KEY_STATE, "rotation_trigger": "1"}, {"rotation_trigger": "2"}, T0, True, False, False),
    (KEY_STATE, {"rotation_trigger": {"q": "2026-q1"}}, T0, True, False, False),  # first set
    (KEY_STATE, {"rotate_after_days": 30}, T0 + timedelta(days=29), False, False, False),
    (KEY_STATE, {"rotate_after_days": 30}, T0 + timedelta(days=30), True, False, False),
    # a 400-day schedule would outlive the key: rotate before it expires (overlap 24h)
    (KEY_STATE, {"rotate_after_days": 400}, T0 + timedelta(days=364, hours=1), True, False,
     False),
    (KEY_STATE, {"rotate_after_days": 400}, T0 + timedelta(days=300), False, False, False),
    ({**KEY_STATE, "previous_key_id": "k0", "rotated_at": iso(T0)}, {},
     T0 + timedelta(hours=23, minutes=59), False, False, False),
    ({**KEY_STATE, "previous_key_id": "k0", "rotated_at": iso(T0)}, {},
     T0 + timedelta(hours=24), False, True, False),
    ({**KEY_STATE, "previous_key_id": "k0", "rotated_at": iso(T0)}, {"overlap_hours": 48},
     T0 + timedelta(hours=30), False, False, False),
    ({**KEY_STATE, "key_id": None}, {}, T0, False, False, True),
    ({**KEY_STATE, "key_id": rotation.MISSING}, {}, T0, False, False, True),
    ({"key_created_at": iso(T0)}, {"rotate_after_days": 1}, T0 + timedelta(days=5), False, False,
     False),  # no key recorded at all (not ours to judge)
])
def test_plan(olds, news, now, rotate, retire, recreate) -> None:
    p = rotation.plan(olds, news, "key_id", now)
    assert bool(p.rotate) is rotate, p.rotate
    assert p.retire_previous is retire
    assert p.recreate is recreate
    assert p.needed is (rotate or retire or recreate)


def test_plan_warns_when_the_key_expires_within_the_schedule() -> None:
    near = T0 + timedelta(days=340)
    p = rotation.plan(KEY_STATE, {"rotate_after_days": 30}, "key_id", near)
    assert p.rotate and any("expires" in w and "within 30 days" in w for w in p.warnings)
    # no schedule: warn 30 days ahead, but do not rotate on our own
    p = rotation.plan(KEY_STATE, {}, "key_id", near)
    assert not p.rotate and any("expires" in w for w in p.warnings)
    assert rotation.plan(KEY_STATE, {}, "key_id", T0 + timedelta(days=100)).warnings == []
    expired = rotation.plan(KEY_STATE, {}, "key_id", T0 + timedelta(days=366))
    assert any("expired" in w for w in expired.warnings)


def test_clock_hook(monkeypatch) -> None:
    at(monkeypatch, T0)
    assert rotation.now() == T0
    monkeypatch.setenv(rotation.NOW_ENV, "next tuesday")
    with pytest.raises(SkyflowProviderError, match="SKYFLOW_PULUMI_NOW"):
        rotation.now()
    monkeypatch.delenv(rotation.NOW_ENV)
    assert abs((rotation.now() - datetime.now(timezone.utc)).total_seconds()) < 5


@pytest.mark.parametrize(("props", "field"), [
    ({"rotate_after_days": 0}, "rotate_after_days"),
    ({"rotate_after_days": "90"}, "rotate_after_days"),
    ({"overlap_hours": -1}, "overlap_hours"),
    ({"overlap_hours": True}, "overlap_hours"),
    ({"rotate_after_days": 1, "overlap_hours": 24}, "overlap_hours"),
])
def test_invalid_rotation_inputs_fail_at_check(props, field) -> None:
    p = ServiceAccountKeyProvider()
    failures = p.check({}, {"service_account_id": "sa1", **props}).failures
    assert [f.property for f in failures] == [field]


def test_adding_rotation_support_causes_no_diff_for_existing_state() -> None:
    p = ServiceAccountKeyProvider()
    olds = {"service_account_id": "sa1", "key_id": "k1", "valid_after": iso(T0)}  # old shape
    assert p.diff("k1", olds, checked(p, {"service_account_id": "sa1"})).changes is False


# ----- providers against the fake client -----------------------------------------------------

def test_key_rotation_keeps_the_old_key_for_the_window(make, fake, monkeypatch) -> None:
    at(monkeypatch, T0)
    p = make(ServiceAccountKeyProvider)
    sa = make(ServiceAccountProvider).create(checked(ServiceAccountProvider(), {"name": "j"})).id
    inputs = checked(p, {"service_account_id": sa, "rotation_trigger": "1"})
    created = p.create(inputs)
    first = created.outs
    assert first["key_created_at"] == iso(T0) and first["previous_key_id"] is None

    # same trigger, same day: nothing to do
    assert p.diff(created.id, first, inputs).changes is False
    # new trigger: an in-place update (no replace), new key first, old one kept and exposed
    news = checked(p, {"service_account_id": sa, "rotation_trigger": "2"})
    d = p.diff(created.id, first, news)
    assert d.changes is True and not d.replaces
    at(monkeypatch, T0 + timedelta(hours=1))
    second = p.update(created.id, first, news).outs
    assert second["key_id"] != first["key_id"]
    assert second["previous_key_id"] == first["key_id"]
    assert second["previous_credentials"] == first["credentials"]
    assert second["previous_private_key"] == first["private_key"]
    assert json.loads(second["credentials"])["keyID"] == second["key_id"]
    assert second["rotated_at"] == iso(T0 + timedelta(hours=1))
    assert second["previous_key_delete_after"] == iso(T0 + timedelta(hours=25))
    assert {first["key_id"], second["key_id"]} <= set(fake.keys)  # both valid

    # inside the window: no change; after it: the update deletes the previous key only
    at(monkeypatch, T0 + timedelta(hours=24, minutes=59))
    assert p.diff(created.id, second, news).changes is False
    at(monkeypatch, T0 + timedelta(hours=25))
    assert p.diff(created.id, second, news).changes is True
    third = p.update(created.id, second, news).outs
    assert third["key_id"] == second["key_id"] and third["previous_key_id"] is None
    assert third["previous_credentials"] is None and third["previous_private_key"] is None
    assert first["key_id"] not in fake.keys and second["key_id"] in fake.keys
    assert p.diff(created.id, third, news).changes is False

    # destroy removes current and (if any) previous key
    p.delete(created.id, third)
    assert second["key_id"] not in fake.keys


def test_rotate_after_days_and_key_created_at(make, fake, monkeypatch) -> None:
    at(monkeypatch, T0)
    p = make(ServiceAccountKeyProvider)
    sa = make(ServiceAccountProvider).create(checked(ServiceAccountProvider(), {"name": "j"})).id
    news = checked(p, {"service_account_id": sa, "rotate_after_days": 30, "overlap_hours": 0})
    outs = p.create(news).outs
    assert outs["next_rotation_at"] == iso(T0 + timedelta(days=30))
    at(monkeypatch, T0 + timedelta(days=30))
    assert p.diff("id", outs, news).changes is True
    fake.calls.clear()
    rotated = p.update("id", outs, news).outs
    # overlap 0: Skyflow's rotate endpoint; the old key is gone at once
    assert fake.calls == ["rotate_key"]
    assert rotated["key_id"] != outs["key_id"] and outs["key_id"] not in fake.keys
    assert rotated["previous_key_id"] is None
    assert rotated["next_rotation_at"] == iso(T0 + timedelta(days=60))
    assert p.diff("id", rotated, news).changes is False


def test_api_key_overlap_zero_uses_the_rotate_endpoint(make, fake, monkeypatch) -> None:
    at(monkeypatch, T0)
    sa = make(ServiceAccountProvider).create(
        checked(ServiceAccountProvider(), {"name": "b", "auth_type": "api_key"})).id
    p = make(ApiKeyProvider)
    news = checked(p, {"service_account_id": sa, "rotation_trigger": "a", "overlap_hours": 0})
    outs = p.create(news).outs
    news2 = {**news, "rotation_trigger": "b"}
    fake.calls.clear()
    rotated = p.update(outs["key_id"], outs, news2).outs
    assert fake.calls == ["rotate_api_key"]
    assert rotated["key_id"] == outs["key_id"] and rotated["api_key"] != outs["api_key"]
    assert rotated["previous_key_id"] is None and rotated["previous_api_key"] is None


def test_api_key_overlap_keeps_previous_secret(make, fake, monkeypatch) -> None:
    at(monkeypatch, T0)
    sa = make(ServiceAccountProvider).create(
        checked(ServiceAccountProvider(), {"name": "b", "auth_type": "api_key"})).id
    p = make(ApiKeyProvider)
    outs = p.create(checked(p, {"service_account_id": sa})).outs
    news = checked(p, {"service_account_id": sa, "rotation_trigger": "x"})
    rotated = p.update(outs["key_id"], outs, news).outs
    assert rotated["previous_key_id"] == outs["key_id"]
    assert rotated["previous_api_key"] == outs["api_key"]
    assert {outs["key_id"], rotated["key_id"]} <= set(fake.api_keys)
    # a second rotation inside the window ends the first window early: at most two keys
    again = p.update(outs["key_id"], rotated, {**news, "rotation_trigger": "y"}).outs
    assert again["previous_key_id"] == rotated["key_id"]
    assert outs["key_id"] not in fake.api_keys
    # the current key deleted by hand while the previous one lives: kept, next up mints
    del fake.api_keys[again["key_id"]]
    read = p.read(outs["key_id"], again)
    assert read.id == outs["key_id"] and read.outs["key_id"] == rotation.MISSING
    assert p.diff(outs["key_id"], read.outs, {**news, "rotation_trigger": "y"}).changes is True
    healed = p.update(outs["key_id"], read.outs, {**news, "rotation_trigger": "y"}).outs
    assert healed["key_id"] in fake.api_keys and healed["api_key"]


def test_keepers_still_replace() -> None:
    p = ApiKeyProvider()
    olds = {**checked(p, {"service_account_id": "sa1", "keepers": {"r": "1"}}), "key_id": "k"}
    d = p.diff("k", olds, checked(p, {"service_account_id": "sa1", "keepers": {"r": "2"}}))
    assert d.replaces == ["keepers"]


def test_service_account_rotation_drift_and_recreate(make, fake, monkeypatch) -> None:
    at(monkeypatch, T0)
    p = make(ServiceAccountProvider)
    news = checked(p, {"name": "payments", "rotation_trigger": 1})
    created = p.create(news)
    outs = created.outs
    assert outs["valid_before"] and outs["key_created_at"] == iso(T0)
    fake.calls.clear()
    rotated = p.update(created.id, outs, {**news, "rotation_trigger": 2}).outs
    assert "update_service_account" not in fake.calls  # a key rotation PATCHes nothing
    assert rotated["previous_key_id"] == outs["key_id"]
    assert rotated["previous_credentials"] == outs["credentials"]
    assert json.loads(rotated["credentials"])["clientID"] == created.id

    # drift: a key made outside Pulumi is reported on refresh
    extra = fake.create_key(created.id)["keyID"]
    read = p.read(created.id, rotated)
    assert read.outs["unmanaged_key_ids"] == [extra]
    # the current key deleted outside Pulumi: refresh clears it, the next up mints one
    del fake.keys[rotated["key_id"]]
    read = p.read(created.id, rotated)
    assert read.outs["key_id"] == rotation.MISSING and read.outs["credentials"] is None
    assert read.outs["previous_key_id"] == outs["key_id"]  # still valid, still exposed
    state = {**read.outs, "__provider": "x"}
    settled = {**news, "rotation_trigger": 2}
    assert p.diff(created.id, state, settled).changes is True
    healed = p.update(created.id, state, settled).outs
    assert healed["key_id"] in fake.keys and healed["private_key"]
    # exclusive_keys: the next up deletes the unmanaged key, keeps current + previous
    excl = {**settled, "exclusive_keys": True}
    assert p.diff(created.id, {**healed, "unmanaged_key_ids": [extra]}, excl).changes is True
    done = p.update(created.id, {**healed, "unmanaged_key_ids": [extra]}, excl).outs
    assert extra not in fake.keys and done["unmanaged_key_ids"] == []
    assert {healed["key_id"], outs["key_id"]} <= set(fake.keys)


def test_adopt_mints_a_fresh_key_and_can_be_exclusive(make, fake, monkeypatch) -> None:
    at(monkeypatch, T0)
    existing = fake.create_service_account({"serviceAccount": {"name": "legacy"}})
    old_key = existing["keyID"]
    p = make(ServiceAccountProvider)
    with pytest.raises(SkyflowProviderError, match="named 'legacy'"):
        p.create(checked(p, {"name": "other", "adopt_id": existing["clientID"]}))
    with pytest.raises(SkyflowProviderError, match="no such service account"):
        p.create(checked(p, {"name": "legacy", "adopt_id": "nope"}))
    fake.calls.clear()
    adopted = p.create(checked(p, {"name": "legacy", "adopt_id": existing["clientID"],
                                   "description": "now managed"}))
    assert "create_service_account" not in fake.calls
    assert adopted.id == existing["clientID"]
    outs = adopted.outs
    assert outs["key_id"] != old_key and json.loads(outs["credentials"])["keyID"] == outs["key_id"]
    assert outs["unmanaged_key_ids"] == [old_key] and old_key in fake.keys
    assert fake.sas[adopted.id]["serviceAccount"]["description"] == "now managed"
    # adopt_id already satisfied: no diff; another id: replace
    same = checked(p, {"name": "legacy", "adopt_id": existing["clientID"],
                       "description": "now managed"})
    assert p.diff(adopted.id, outs, same).changes is False
    assert "adopt_id" in (p.diff(adopted.id, outs, {**same, "adopt_id": "x"}).replaces or [])

    second = fake.create_service_account({"serviceAccount": {"name": "legacy2"}})
    excl = p.create(checked(p, {"name": "legacy2", "adopt_id": second["clientID"],
                                "exclusive_keys": True})).outs
    assert second["keyID"] not in fake.keys and excl["unmanaged_key_ids"] == []


def test_adopt_role(make, fake) -> None:
    from skyflow_provider.role import RoleProvider

    r = make(RoleProvider)
    existing = fake.create_role({"roleDefinition": {"name": "R", "permissions": []},
                                 "resource": {"ID": "v1", "type": "VAULT"}})["ID"]
    fake.calls.clear()
    adopted = r.create(checked(r, {"vault_id": "v1", "name": "R", "adopt_id": existing,
                                   "permissions": ["vault.read"]}))
    assert adopted.id == existing
    assert fake.roles[existing]["definition"]["permissions"] == ["vault.read"]
    with pytest.raises(SkyflowProviderError, match="no such role"):
        r.create(checked(r, {"vault_id": "v1", "name": "R", "adopt_id": "missing"}))


def test_adopt_policy_keeps_rule_ids_and_applies_status(make, fake) -> None:
    from skyflow_provider.policy import PolicyProvider

    p = make(PolicyProvider)
    existing = fake.create_policy({
        "name": "Legacy", "displayName": "Legacy", "description": "hand-made",
        "resource": {"ID": "v1", "type": "VAULT"}, "activated": False,
        "ruleParams": [{"name": "keep"}, {"name": "drop"}]})["ID"]
    kept_rule = fake.policies[existing]["rules"][0]["ID"]
    adopted = p.create(checked(p, {"vault_id": "v1", "name": "Legacy", "adopt_id": existing,
                                   "rules": [{"name": "keep", "actions": ["READ"],
                                              "table": "persons"}]}))
    assert adopted.id == existing and len(fake.policies) == 1
    assert adopted.outs["rule_ids"] == {"keep": kept_rule}
    assert fake.policies[existing]["status"] == "ACTIVE" and adopted.outs["status"] == "ACTIVE"
    assert [r["name"] for r in fake.policies[existing]["rules"]] == ["keep"]
    with pytest.raises(SkyflowProviderError, match="vault v1"):
        p.create(checked(p, {"vault_id": "v2", "name": "Legacy", "adopt_id": existing,
                             "rules": [{"name": "keep", "actions": ["READ"], "table": "t"}]}))


def test_lost_rotate_response_falls_back_to_a_fresh_key(make, fake, monkeypatch) -> None:
    from skyflow_provider.errors import InvalidArgumentError, TransportError

    at(monkeypatch, T0)
    sa = make(ServiceAccountProvider).create(
        checked(ServiceAccountProvider(), {"name": "b", "auth_type": "api_key"})).id
    p = make(ApiKeyProvider)
    news = checked(p, {"service_account_id": sa, "rotation_trigger": "a", "overlap_hours": 0})
    outs = p.create(news).outs

    def lost(_sa: str, _key: str) -> dict[str, Any]:
        raise TransportError("rotate API key: no response (connection reset)")

    monkeypatch.setattr(fake, "rotate_api_key", lost)
    rotated = p.update(outs["key_id"], outs, {**news, "rotation_trigger": "b"}).outs
    assert rotated["key_id"] != outs["key_id"] and rotated["key_id"] in fake.api_keys
    assert outs["key_id"] not in fake.api_keys  # the old key (secret unknown) is gone

    def refused(_sa: str, _key: str) -> dict[str, Any]:
        raise InvalidArgumentError("rotate API key: bad request", status=400)

    monkeypatch.setattr(fake, "rotate_api_key", refused)
    with pytest.raises(SkyflowProviderError, match="400") as info:
        p.update(outs["key_id"], rotated, {**news, "rotation_trigger": "c"})
    assert info.value.__cause__ is None
