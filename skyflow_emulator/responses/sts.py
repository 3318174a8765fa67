"""STS configurations and the STS token exchange over HTTP (the spec's tag "Token Exchange")."""

from __future__ import annotations

from typing import Any

from ..context import Ctx
from ..models.sts import StsConfigs, exchange, sts_view
from ..util import paginate


def _backend(ctx: Ctx) -> StsConfigs:
    return StsConfigs(ctx.state)


def list_(ctx: Ctx) -> dict[str, Any]:
    configs = _backend(ctx).list_(ctx.arg("name"))
    return {"stsConfigs": [sts_view(c) for c in paginate(configs, ctx.request.args)]}


def create(ctx: Ctx) -> dict[str, Any]:
    return {"ID": _backend(ctx).create(ctx.body(), actor=ctx.subject)}


def get(ctx: Ctx) -> dict[str, Any]:
    return sts_view(_backend(ctx).get(ctx.params["ID"]))


def update(ctx: Ctx) -> dict[str, Any]:
    return sts_view(_backend(ctx).update(ctx.params["ID"], ctx.body(), actor=ctx.subject))


def delete(ctx: Ctx) -> dict[str, Any]:
    return {"ID": _backend(ctx).delete(ctx.params["ID"])}


def _form(ctx: Ctx) -> dict[str, Any]:
    """The spec's JSON body; form-encoding too (the Descope sample sends it that way)."""
    if ctx.request.mimetype == "application/x-www-form-urlencoded":
        return {k: v for k, v in ctx.request.form.items()}
    return ctx.body()


def get_token(ctx: Ctx) -> dict[str, Any]:
    """``accessToken`` as the spec's properties (and the Kong plugin) name it."""
    done = exchange(ctx.state, ctx.state.jwks, _form(ctx), ctx.request.remote_addr)
    ctx.log_subject = done.service_account_id
    return {"accessToken": done.token, "issuedTokenType": "urn:ietf:params:oauth:token-type:jwt",
            "tokenType": "Bearer"}
