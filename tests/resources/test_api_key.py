"""ApiKeyProvider (resources/api_key.py) against the in-memory fake client: CRUD, overlap
rotation, keepers, a lost rotate response.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from skyflow_provider.resources import rotation
from skyflow_provider.resources.api_key import ApiKeyProvider
from skyflow_provider.resources.base import SkyflowProviderError
from skyflow_provider.resources.service_account import ServiceAccountProvider
from skyflow_provider.resources.service_account_key import ServiceAccountKeyProvider


def test_api_key_and_key_resources(make, fake) -> None:
    sa = make(ServiceAccountProvider)
    api_sa = sa.create(checked(sa, {"name": "b", "auth_type": "api_key"})).id
    jwt_sa = sa.create(checked(sa, {"name": "j"})).id

    ak = make(ApiKeyProvider)
    res = ak.create(checked(ak, {"service_account_id": api_sa}))
    assert res.outs["api_key"] and res.outs["created_at"] == "2026-01-02T00:00:00Z"
    assert ak.read(res.id, res.outs).id == res.id
    ak.delete(res.id, res.outs)
    assert ak.read(res.id, res.outs).id is None

    with pytest.raises(SkyflowProviderError, match="cannot have API keys"):
        ak.create(checked(ak, {"service_account_id": jwt_sa}))

    key = make(ServiceAccountKeyProvider)
    res = key.create(checked(key, {"service_account_id": jwt_sa}))
    assert json.loads(res.outs["credentials"])["keyID"] == res.id
    upd = key.update(res.id, res.outs, checked(key, {"service_account_id": jwt_sa})).outs
    assert upd["private_key"] == res.outs["private_key"]
    key.delete(res.id, res.outs)
    assert key.read(res.id, res.outs).id is None


T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def at(monkeypatch: pytest.MonkeyPatch, t: datetime) -> None:
    monkeypatch.setenv(rotation.NOW_ENV, iso(t))


def checked(p: Any, props: dict[str, Any]) -> dict[str, Any]:
    result = p.check({}, props)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return dict(result.inputs)


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


def test_lost_rotate_response_falls_back_to_a_fresh_key(make, fake, monkeypatch) -> None:
    from skyflow_provider.http.errors import InvalidArgumentError, TransportError

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

