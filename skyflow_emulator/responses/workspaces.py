"""Workspaces and their members over HTTP."""

from __future__ import annotations

from typing import Any

from .. import views
from ..context import Ctx
from ..models.workspaces import Workspaces
from ..util import opt_obj, paginate


def _backend(ctx: Ctx) -> Workspaces:
    return Workspaces(ctx.state)


def _view(ctx: Ctx, ws: dict[str, Any]) -> dict[str, Any]:
    # Every workspace's vaults answer the Data API at the emulator's own base URL.
    return views.workspace_view(ws, ctx.state.base_url)


def list_(ctx: Ctx) -> dict[str, Any]:
    items = _backend(ctx).list_(account=ctx.arg("accountID"), name=ctx.arg("name"),
                               status=ctx.arg("status"))
    return {"workspaces": [_view(ctx, w) for w in paginate(items, ctx.request.args)]}


def get(ctx: Ctx) -> dict[str, Any]:
    return {"workspace": _view(ctx, _backend(ctx).get(ctx.params["ID"]))}


def create(ctx: Ctx) -> dict[str, Any]:
    return {"ID": _backend(ctx).create(actor=ctx.subject, body=ctx.body())}


def update(ctx: Ctx) -> dict[str, Any]:
    spec = opt_obj(ctx.body(), "workspace", "workspace")
    return {"ID": _backend(ctx).update(ctx.params["ID"], actor=ctx.subject, spec=spec)}


def delete(ctx: Ctx) -> dict[str, Any]:
    return {"ID": _backend(ctx).delete(ctx.params["ID"])}


def members(ctx: Ctx) -> dict[str, Any]:
    """Every service account and user of the account (the emulator has no per-workspace
    membership)."""
    out = _backend(ctx).members(ctx.params["ID"], member_type=ctx.arg("filterOps.type"),
                                name=ctx.arg("filterOps.name"), email=ctx.arg("filterOps.email"),
                                status=ctx.arg("filterOps.status"))
    return {"members": paginate(out, ctx.request.args)}
