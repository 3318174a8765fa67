"""ServiceAccountProvider (resources/service_account.py) against the in-memory fake client:
lifecycle, diff, call counts, rotation drift and adoption.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from skyflow_provider.http.errors import ServerError
from skyflow_provider.resources import role_lookup as role_mod
from skyflow_provider.resources import rotation
from skyflow_provider.resources.base import SkyflowProviderError
from skyflow_provider.resources.declarations import SERVICE_ACCOUNT
from skyflow_provider.resources.keys import CREDENTIAL_KEYS
from skyflow_provider.resources.service_account import ServiceAccountProvider

OUTPUT_KEYS = SERVICE_ACCOUNT.output_keys


def test_jwt_service_account_lifecycle(make, fake) -> None:
    p = make(ServiceAccountProvider)
    inputs = checked(p, {"name": "payments-api"})
    created = p.create(inputs)
    outs = created.outs
    assert created.id == outs["client_id"]
    assert set(OUTPUT_KEYS) <= set(outs)
    assert outs["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    creds = json.loads(outs["credentials"])
    assert list(creds) == list(CREDENTIAL_KEYS)
    assert creds["privateKey"] == outs["private_key"] and creds["clientID"] == created.id
    # the fake's namespaces lack the spec's format, so none is derived: the next read has it
    assert outs["api_key"] is None and outs["namespace"] == ""
    assert p.read(created.id, outs).outs["namespace"] == f"ns/{created.id}"

    # update in place: PATCH with the complete desired state, every output carried over
    new_inputs = checked(p, {"name": "payments-api", "description": "Payments",
                             "ip_allowlist": {"status": "ACTIVE_ALL",
                                              "cidr_blocks": ["10.0.0.0/8"]}})
    updated = p.update(created.id, {**outs, "__provider": "x"}, new_inputs).outs
    assert updated["private_key"] == outs["private_key"]
    assert updated["credentials"] == outs["credentials"]
    assert updated["description"] == "Payments"
    remote = fake.sas[created.id]
    assert remote["serviceAccount"]["ipAllowlist"] == {"status": "ACTIVE_ALL",
                                                       "cidrBlocks": ["10.0.0.0/8"]}
    assert remote["clientConfiguration"] == {"enforceContextID": False,
                                             "enforceSignedDataTokens": False}

    # refresh with no drift: same outputs, secrets kept
    read = p.read(created.id, {**updated, "__provider": "x"})
    assert read.id == created.id and read.outs["private_key"] == outs["private_key"]
    assert read.inputs == {k: updated[k] for k in read.inputs}

    # out-of-band change shows up as a changed input (so the next up diffs)
    remote["serviceAccount"]["displayName"] = "changed in Studio"
    read = p.read(created.id, updated)
    assert read.inputs["display_name"] == "changed in Studio"
    assert p.diff(created.id, read.outs, new_inputs).changes is True

    # out-of-band deletion: gone
    p.delete(created.id, updated)
    assert created.id not in fake.sas
    gone = p.read(created.id, updated)
    assert gone.id is None and gone.outs == {}
    p.delete(created.id, updated)  # already gone: fine


def test_read_of_an_imported_account_matches_the_declared_defaults(make, fake) -> None:
    """`pulumi import` reads with no props: what Skyflow cannot say (auth type, keyless) comes
    back as the declaration's defaults, so the declared account is no change and no replace."""
    p = make(ServiceAccountProvider)
    made = p.create(checked(p, {"name": "made-by-hand", "description": "by hand"}))
    imported = p.read(made.id, {})
    declared = checked(p, {"name": "made-by-hand", "description": "by hand"})
    assert imported.inputs["keyless"] is False and imported.inputs["auth_type"] == "jwt"
    diff = p.diff(made.id, imported.outs, declared)
    assert not diff.replaces, diff.replaces


def test_api_key_service_account(make, fake) -> None:
    p = make(ServiceAccountProvider)
    outs = p.create(checked(p, {"name": "legacy-batch", "auth_type": "api_key"})).outs
    assert outs["api_key"].startswith("sky-") and outs["api_key_id"]
    assert outs["private_key"] is None and outs["credentials"] is None
    assert fake.sas[outs["client_id"]]["api"] is True


def test_errors_are_clean_and_secret_free(make, fake) -> None:
    p = make(ServiceAccountProvider)

    def boom(_id, _body):
        raise ServerError("update service account sa1: server error", status=503,
                          operation="update service account", target="sa1")

    fake.update_service_account = boom
    olds = {"name": "a", "private_key": "TOPSECRETPEM"}
    with pytest.raises(SkyflowProviderError) as info:
        p.update("sa1", olds, checked(p, {"name": "a", "description": "x"}))
    assert "503" in str(info.value) and "TOPSECRETPEM" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def state(provider: Any, inputs: dict[str, Any], **outputs: Any) -> dict[str, Any]:
    """Old outputs as the engine passes them to diff: checked inputs + outputs + __provider."""
    checked = provider.check({}, dict(inputs)).inputs
    return {**checked, **outputs, "__provider": "OLDPICKLE"}


def news(provider: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    checked = provider.check({}, dict(inputs)).inputs
    return {**checked, "__provider": "NEWPICKLE"}


SA = {"name": "payments-api"}


def test_service_account_rename_creates_first() -> None:
    p = ServiceAccountProvider()
    result = p.diff("x", state(p, SA), news(p, {"name": "renamed"}))
    assert result.replaces == ["name"] and not result.delete_before_replace
    both = p.diff("x", state(p, SA), news(p, {"name": "renamed", "auth_type": "api_key"}))
    assert not both.delete_before_replace


def test_in_place_update_does_not_request_delete_first() -> None:
    p = ServiceAccountProvider()
    assert not p.diff("x", state(p, SA), news(p, {**SA, "description": "d"})).delete_before_replace


@pytest.fixture(autouse=True)
def _empty_role_cache():
    role_mod._ROLE_ID_CACHE.clear()
    yield
    role_mod._ROLE_ID_CACHE.clear()


# ----- issue 15: never a GET after create for the namespace ------------------------------------
def test_create_never_reads_the_namespace(make, fake) -> None:
    sa = make(ServiceAccountProvider)
    created = sa.create(checked(sa, {"name": "a"}))
    assert created.outs["namespace"] == ""  # no sibling in the spec's format: the read fills it
    assert "get_service_account" not in fake.calls
    original = fake.create_service_account

    def with_namespace(body):
        resp = original(body)
        return {**resp, "namespace": f"ns/{resp['clientID']}"}

    fake.create_service_account = with_namespace
    fake.calls.clear()
    created = sa.create(checked(sa, {"name": "b"}))
    assert created.outs["namespace"] == f"ns/{created.id}"
    assert "get_service_account" not in fake.calls


T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def at(monkeypatch: pytest.MonkeyPatch, t: datetime) -> None:
    monkeypatch.setenv(rotation.NOW_ENV, iso(t))


def checked(p: Any, props: dict[str, Any]) -> dict[str, Any]:
    result = p.check({}, props)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return dict(result.inputs)


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



def test_state_written_before_a_field_existed_shows_no_change() -> None:
    """A state (old, or imported) that lacks an input declared later with a default (``keyless``)
    reads as that default: no update, and above all no replacement."""
    p = ServiceAccountProvider()
    old = state(p, SA)
    assert old["keyless"] is False and old["enforce_context_id"] is False  # defaults filled
    for later in ("keyless", "enforce_context_id"):
        del old[later]
    result = p.diff("x", old, news(p, SA))
    assert result.changes is False and not result.replaces
    # ...while declaring the non-default value is still a change (keyless replaces).
    assert p.diff("x", old, news(p, {**SA, "keyless": True})).replaces == ["keyless"]


def test_refresh_diff_of_an_old_state_shows_no_change() -> None:
    """At refresh the engine diffs the read state against the state's own (unchecked) inputs:
    neither side has the later field, and neither may show it as changed."""
    p = ServiceAccountProvider()
    old = state(p, SA)
    del old["keyless"]
    unchecked = {k: v for k, v in old.items() if k != "__provider"}
    assert p.diff("x", old, unchecked).changes is False
