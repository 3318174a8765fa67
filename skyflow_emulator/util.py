"""Small shared helpers: ids, timestamps, input checks."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone
from typing import Any

from .errors import bad_request

ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def new_id() -> str:
    """32 lowercase hex characters, the shape of Skyflow's IDs."""
    return secrets.token_hex(16)


def now() -> datetime:
    return datetime.now(timezone.utc)


def go_time(t: datetime | None = None) -> str:
    """Go-style time string as in Skyflow's BasicAudit examples."""
    t = t or now()
    return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond:06d}0 +0000 UTC"


def rfc3339(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def audit(subject: str, t: datetime | None = None) -> dict[str, str]:
    ts = go_time(t)
    return {"CreatedBy": subject, "LastModifiedBy": subject, "CreatedOn": ts, "LastModifiedOn": ts}


def touch(audit_doc: dict[str, str], subject: str) -> dict[str, str]:
    out = dict(audit_doc)
    out["LastModifiedBy"] = subject
    out["LastModifiedOn"] = go_time()
    return out


def check_id(value: Any, field: str) -> str:
    """IDs in bodies must look like IDs: no traversal or injection reaches storage."""
    if not isinstance(value, str) or not ID_RE.match(value):
        raise bad_request(f"{field}: invalid ID")
    return value


def opt_str(body: dict[str, Any], key: str, field: str, max_len: int = 1000) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"{field}: must be a string")
    if len(value) > max_len:
        raise bad_request(f"{field}: longer than {max_len} characters")
    return value


def opt_obj(body: dict[str, Any], key: str, field: str) -> dict[str, Any] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_request(f"{field}: must be an object")
    return value


def paginate(items: list[Any], args: Any) -> list[Any]:
    """offset/limit arrive as strings (int64 in the spec); defaults 0 and 25."""
    try:
        offset = int(args.get("offset", "0") or "0")
        limit = int(args.get("limit", "25") or "25")
    except ValueError:
        raise bad_request("offset and limit must be integers") from None
    if offset < 0 or limit < 0:
        raise bad_request("offset and limit must not be negative")
    if limit == 0:
        limit = 25
    return items[offset : offset + limit]
