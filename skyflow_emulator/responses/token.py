"""POST /v1/auth/sa/oauth/token over HTTP: JSON (the SDKs) or form-encoded (OAuth clients)."""

from __future__ import annotations

from typing import Any

from ..context import Ctx
from ..models.tokens import exchange


def _form(ctx: Ctx) -> dict[str, Any]:
    """PYSDK sends JSON; OAuth clients send form-encoding. Accept both."""
    if ctx.request.mimetype == "application/x-www-form-urlencoded":
        return {k: v for k, v in ctx.request.form.items()}
    return ctx.body()


def get_token(ctx: Ctx) -> dict[str, Any]:
    token, subject = exchange(ctx.state, _form(ctx), ctx.request.remote_addr)
    ctx.log_subject = subject
    return {"accessToken": token, "tokenType": "Bearer"}
