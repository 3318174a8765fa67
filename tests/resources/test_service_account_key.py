"""ServiceAccountKeyProvider (resources/service_account_key.py): key rotation keeps the old key for
the window; rotate_after_days and key_created_at.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from skyflow_provider.resources import rotation
from skyflow_provider.resources.service_account import ServiceAccountProvider
from skyflow_provider.resources.service_account_key import ServiceAccountKeyProvider

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def at(monkeypatch: pytest.MonkeyPatch, t: datetime) -> None:
    monkeypatch.setenv(rotation.NOW_ENV, iso(t))


def checked(p: Any, props: dict[str, Any]) -> dict[str, Any]:
    result = p.check({}, props)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return dict(result.inputs)


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

