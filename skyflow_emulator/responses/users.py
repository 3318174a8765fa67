"""Users over HTTP."""

from __future__ import annotations

from typing import Any

from .. import views
from ..context import Ctx
from ..models.users import Users
from ..util import paginate


def _backend(ctx: Ctx) -> Users:
    return Users(ctx.state)


def list_(ctx: Ctx) -> dict[str, Any]:
    items = _backend(ctx).list_(account=ctx.arg("accountID"), email=ctx.arg("filterOps.email"),
                               name=ctx.arg("filterOps.name"), status=ctx.arg("filterOps.status"))
    return {"users": [views.user_view(u) for u in paginate(items, ctx.request.args)]}


def create(ctx: Ctx) -> dict[str, Any]:
    return {"ID": _backend(ctx).create(actor=ctx.subject, body=ctx.body())}


def get(ctx: Ctx) -> dict[str, Any]:
    return {"user": views.user_view(_backend(ctx).get(ctx.params["ID"]))}


def update(ctx: Ctx) -> dict[str, Any]:
    return {"ID": _backend(ctx).update(ctx.params["ID"], actor=ctx.subject,
                                       spec=ctx.body().get("user"))}


def delete(ctx: Ctx) -> dict[str, Any]:
    return {"ID": _backend(ctx).delete(ctx.params["ID"])}
