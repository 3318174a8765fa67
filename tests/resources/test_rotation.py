"""Key rotation (resources/rotation.py): the plan (trigger, due, expiry, window, missing key), the
clock hook, rotation inputs at check, and no diff from state written before rotation existed.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from skyflow_provider.resources import rotation
from skyflow_provider.resources.base import SkyflowProviderError
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

