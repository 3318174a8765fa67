"""Credential lifecycle shared by ``ServiceAccount``, ``ServiceAccountKey`` and ``ApiKey``.

Why one module: the three resources hold "a current key" the same way, and rotating it must
follow one rule everywhere: **the new key exists (and is published) before the old one is
deleted**, and the old one stays valid for an overlap window so consumers can move over. Peers get
this wrong (GCP ``keepers`` deletes at once, AWS users rotate delete-first); Snowflake's two key
slots are the model.

A rotation is an in-place *update* of the same Pulumi resource (same URN, same id), so stack
output names stay stable; only the values change. Everything time-dependent is decided here from
an injectable clock (:func:`now`, env ``SKYFLOW_PULUMI_NOW``), so ``diff`` can notice that a key is
due, or that an overlap window has passed, even when no input changed.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from pulumi.dynamic import CheckFailure

from ..api.idempotency import outcome_unknown
from ..http.errors import SkyflowError
from .base import SkyflowProviderError, is_unknown, raise_clean, same_value

#: Test/ops hook: an ISO-8601 time the provider process uses as "now" (e.g. to rehearse a
#: rotation schedule). Unset in normal use.
NOW_ENV = "SKYFLOW_PULUMI_NOW"
DEFAULT_OVERLAP_HOURS = 24.0
#: Without ``rotate_after_days``, warn this long before a key expires.
DEFAULT_EXPIRY_WARNING_DAYS = 30
MAX_OVERLAP_HOURS = 24 * 366
#: What ``read`` records as the current key id when the key was deleted out of band. An empty
#: string, not None: the engine drops null properties before ``diff`` sees them.
MISSING = ""

ROTATION_INPUTS = ("rotation_trigger", "rotate_after_days", "overlap_hours")
ROTATION_OUTPUTS = (
    "key_created_at",
    "next_rotation_at",
    "rotated_at",
    "previous_key_id",
    "previous_key_delete_after",
)


# ----- clock -------------------------------------------------------------------------------------

def now() -> datetime:
    """The provider's notion of now (UTC): ``SKYFLOW_PULUMI_NOW`` when set, else the real clock."""
    raw = os.environ.get(NOW_ENV, "").strip()
    if not raw:
        return datetime.now(timezone.utc)
    parsed = parse_time(raw)
    if parsed is None:
        raise SkyflowProviderError(
            f"{NOW_ENV}={raw!r} is not an ISO-8601 time; use e.g. 2026-12-01T09:00:00Z or unset it"
        )
    return parsed


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 / ISO-8601 string as an aware UTC datetime; None when absent or unparsable."""
    if not isinstance(value, str) or not value.strip() or is_unknown(value):
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def fmt(t: datetime | None) -> str | None:
    """RFC 3339 in UTC with a ``Z`` (the shape Skyflow uses)."""
    if t is None:
        return None
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def later(*values: Any) -> datetime | None:
    """The latest of several times (strings or datetimes); None when none parse."""
    times = [v if isinstance(v, datetime) else parse_time(v) for v in values]
    known = [t for t in times if t is not None]
    return max(known) if known else None


# ----- inputs ------------------------------------------------------------------------------------

def overlap_hours(props: Mapping[str, Any]) -> float:
    """Effective overlap (None means the default, 24 hours)."""
    value = props.get("overlap_hours")
    if value is None or is_unknown(value) or isinstance(value, bool):
        return DEFAULT_OVERLAP_HOURS
    try:
        return float(value)
    except (TypeError, ValueError):
        return DEFAULT_OVERLAP_HOURS


def rotate_after_days(props: Mapping[str, Any]) -> float | None:
    value = props.get("rotate_after_days")
    if value is None or is_unknown(value) or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate(news: Mapping[str, Any]) -> list[CheckFailure]:
    """rotate_after_days > 0; 0 <= overlap_hours < the rotation period; trigger: anything."""
    f: list[CheckFailure] = []
    days = news.get("rotate_after_days")
    if days is not None and not is_unknown(days):
        if not _number(days) or days <= 0:
            f.append(CheckFailure("rotate_after_days", "rotate_after_days must be a number of "
                                  f"days greater than 0 (e.g. 90), got {days!r}"))
    hours = news.get("overlap_hours")
    if hours is not None and not is_unknown(hours):
        if not _number(hours) or hours < 0 or hours > MAX_OVERLAP_HOURS:
            f.append(CheckFailure("overlap_hours", "overlap_hours must be a number of hours from "
                                  f"0 (no overlap) to {MAX_OVERLAP_HOURS}, got {hours!r}"))
        elif isinstance(days, (int, float)) and _number(days) and days > 0 \
                and hours >= days * 24:
            f.append(CheckFailure("overlap_hours", f"overlap_hours ({hours:g}) must be shorter "
                                  f"than the rotation period rotate_after_days ({days:g} days = "
                                  f"{days * 24:g} hours), or every rotation would cut the previous "
                                  "window short"))
    return f


def input_changed(key: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    """Like ``same_value`` but an absent ``overlap_hours`` equals the default (so upgrading to
    a provider with rotation support causes no update)."""
    old, new = olds.get(key), news.get(key)
    if key == "overlap_hours" and not is_unknown(new):
        if (old is None and new in (None, DEFAULT_OVERLAP_HOURS)) or (
            new is None and old in (None, DEFAULT_OVERLAP_HOURS)
        ):
            return False
    return not same_value(old, new)


# ----- the plan ----------------------------------------------------------------------------------

@dataclass
class Plan:
    """What the next update must do with the keys, and why (decided from state + clock)."""

    rotate: str | None = None
    """Reason to mint a new current key, or None."""
    recreate: bool = False
    """The current key is gone (deleted out of band): mint one, nothing to keep valid."""
    retire_previous: bool = False
    """The overlap window has passed: delete the previous key."""
    warnings: list[str] = field(default_factory=list)

    @property
    def needed(self) -> bool:
        return bool(self.rotate or self.recreate or self.retire_previous)

    def describe(self) -> str:
        parts = []
        if self.recreate:
            parts.append("the current key is gone (deleted outside Pulumi): a new key is minted")
        if self.rotate:
            parts.append(f"rotation: {self.rotate}")
        if self.retire_previous and not self.rotate:
            parts.append("the previous key's overlap window has passed: it is deleted")
        return "; ".join(parts)


def plan(olds: Mapping[str, Any], news: Mapping[str, Any], key_field: str,
         at: datetime, what: str = "key") -> Plan:
    """Decide from the recorded state (olds = outputs), the new inputs and the clock.

    * ``rotation_trigger`` changed (any value; like GCP ``keepers``) -> rotate;
    * ``rotate_after_days`` set and the key is at least that old -> rotate;
    * ``rotate_after_days`` set and the key expires before a new one could overlap it -> rotate;
    * a previous key whose window (``rotated_at + overlap_hours``) has passed -> delete it;
    * the current key is recorded as missing (``key_field`` is ``MISSING``: ``read`` found it
      deleted out of band) -> mint one.
    """
    result = Plan()
    current_key_id = olds.get(key_field)
    if key_field in olds and current_key_id in (MISSING, None):
        result.recreate = True
    elif not same_value(olds.get("rotation_trigger"), news.get("rotation_trigger")):
        result.rotate = "rotation_trigger changed"
    days = rotate_after_days(news)
    overlap = overlap_hours(news)
    created = parse_time(olds.get("key_created_at")) or parse_time(olds.get("valid_after")) \
        or parse_time(olds.get("created_at"))
    expires = parse_time(olds.get("valid_before"))
    if current_key_id and not result.rotate and days is not None:
        if created is not None and at >= created + timedelta(days=days):
            result.rotate = (f"{what} {current_key_id} was created {fmt(created)}, more than "
                             f"rotate_after_days={days:g} days ago")
        elif expires is not None and at >= expires - timedelta(hours=max(overlap, 24.0)):
            result.rotate = f"{what} {current_key_id} expires {fmt(expires)}"
    if current_key_id and expires is not None:
        horizon = days if days is not None else DEFAULT_EXPIRY_WARNING_DAYS
        if at >= expires:
            result.warnings.append(f"{what} {current_key_id} expired {fmt(expires)}; "
                                   "set rotate_after_days or change rotation_trigger to replace it")
        elif at >= expires - timedelta(days=horizon):
            left = (expires - at).total_seconds() / 86400
            hint = "it is rotated now" if result.rotate else (
                "set rotate_after_days (or change rotation_trigger) to rotate it in time")
            result.warnings.append(f"{what} {current_key_id} expires {fmt(expires)} (in "
                                   f"{left:.1f} days, within {horizon:g} days); {hint}")
    if olds.get("previous_key_id"):
        rotated = parse_time(olds.get("rotated_at"))
        if rotated is None or at >= rotated + timedelta(hours=overlap):
            result.retire_previous = True
    return result


def warn(message: str) -> None:
    """A warning in the CLI output. The dynamic provider process has no engine connection, so
    ``pulumi.log`` falls back to stderr anyway, which the CLI shows; never pass secrets here."""
    print(f"warning: skyflow: {message}", file=sys.stderr, flush=True)


def note(message: str) -> None:
    """Why an update is planned although no input changed (shown in preview output)."""
    print(f"skyflow: {message}", file=sys.stderr, flush=True)


# ----- applying the plan (update) ---------------------------------------------------------------

@dataclass
class KeySlots:
    """How one resource stores its current and previous key in its outputs.

    ``current``: output names of the current key (the first is its id); ``previous``: current
    name -> previous name, for the values kept during the overlap window.
    """

    current: tuple[str, ...]
    previous: Mapping[str, str]

    @property
    def id_key(self) -> str:
        return self.current[0]


@dataclass
class KeyOps:
    """The Skyflow calls for one kind of key. ``mint``/``rotate_in_place`` return output values
    for the slot's ``current`` names (plus optionally ``valid_after``/``created_at``).
    ``rotate_in_place`` raises the client's ``SkyflowError`` as is, so a lost response can be
    told apart from a refusal."""

    mint: Callable[[], dict[str, Any]]
    delete: Callable[[str], None]
    rotate_in_place: Callable[[str], dict[str, Any]] | None = None


def _clear_previous(outs: dict[str, Any], slots: KeySlots) -> None:
    for name in slots.previous.values():
        outs[name] = None
    outs["previous_key_delete_after"] = None


def _try_delete(ops: KeyOps, key_id: str, what: str) -> bool:
    try:
        ops.delete(key_id)
        return True
    except Exception as err:  # noqa: BLE001 - keep it recorded; the next up retries
        warn(f"could not delete the previous {what} {key_id} ({err}); it stays recorded as "
             "previous_key_id and the next `pulumi up` retries")
        return False


def apply(outs: dict[str, Any], news: Mapping[str, Any], the_plan: Plan, slots: KeySlots,
          ops: KeyOps, at: datetime, what: str = "key") -> dict[str, Any]:
    """Carry out ``the_plan`` on ``outs`` (the carried-over outputs). New key first, always."""
    overlap = overlap_hours(news)
    if the_plan.recreate:
        fresh = ops.mint()
        outs.update(fresh)
        outs["key_created_at"] = fmt(later(at, fresh.get("valid_after"), fresh.get("created_at")))
    elif the_plan.rotate:
        old_id = outs.get(slots.id_key)
        old_previous = outs.get("previous_key_id")
        if overlap == 0 and ops.rotate_in_place is not None and old_id:
            # Skyflow's rotate endpoint: the old secret stops working at once (no overlap asked).
            try:
                fresh = ops.rotate_in_place(str(old_id))
            except SkyflowError as err:
                if not outcome_unknown(err):
                    raise_clean(err, f"rotate {what} {old_id}")
                # Applied or not, the secret it returned is lost: mint a key we do hold, and
                # delete the old one (overlap 0 was asked for anyway).
                warn(f"rotating {what} {old_id} got no answer ({err}); minting a new key "
                     "instead and deleting the old one")
                fresh = ops.mint()
                _try_delete(ops, str(old_id), what)
            outs.update(fresh)
            _clear_previous(outs, slots)
        else:
            fresh = ops.mint()
            kept = {prev: outs.get(cur) for cur, prev in slots.previous.items()}
            outs.update(fresh)
            outs.update(kept)
            outs["previous_key_delete_after"] = fmt(at + timedelta(hours=overlap))
            if overlap == 0 and old_id and _try_delete(ops, str(old_id), what):
                _clear_previous(outs, slots)
        if old_previous and old_previous != outs.get("previous_key_id"):
            # A rotation inside a running window ends that window early (two keys at most).
            if not _try_delete(ops, str(old_previous), what):
                warn(f"{what} {old_previous} is no longer tracked; delete it by hand")
        outs["rotated_at"] = fmt(at)
        outs["key_created_at"] = fmt(later(at, fresh.get("valid_after"), fresh.get("created_at")))
    if the_plan.retire_previous and not the_plan.rotate and outs.get("previous_key_id"):
        if _try_delete(ops, str(outs["previous_key_id"]), what):
            _clear_previous(outs, slots)
    finish(outs, news)
    return outs


def finish(outs: dict[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
    """Derived outputs: next_rotation_at, previous_key_delete_after (from current inputs)."""
    days = rotate_after_days(news)
    created = parse_time(outs.get("key_created_at"))
    outs["next_rotation_at"] = (fmt(created + timedelta(days=days))
                                if days is not None and created is not None else None)
    rotated = parse_time(outs.get("rotated_at"))
    if outs.get("previous_key_id") and rotated is not None:
        outs["previous_key_delete_after"] = fmt(rotated + timedelta(hours=overlap_hours(news)))
    elif not outs.get("previous_key_id"):
        outs["previous_key_delete_after"] = None
    for key in ROTATION_OUTPUTS:
        outs.setdefault(key, None)
    return outs


__all__ = ["DEFAULT_OVERLAP_HOURS", "MISSING", "NOW_ENV", "ROTATION_INPUTS", "ROTATION_OUTPUTS",
           "KeyOps", "KeySlots", "Plan", "apply", "finish", "fmt", "input_changed", "later", "now",
           "overlap_hours", "parse_time", "plan", "rotate_after_days", "validate", "warn", "note"]
