"""The audit log over HTTP: ``GET /v1/audit/events`` (the recording is the app's, for every
route)."""

from __future__ import annotations

from typing import Any

from ..context import Ctx
from ..models.audit import AuditLog


def list_(ctx: Ctx) -> dict[str, Any]:
    return AuditLog(ctx.state).query(ctx.request.args)
