"""Roles, role definitions and member assignments over HTTP."""

from __future__ import annotations

from typing import Any

from .. import views
from ..context import Ctx
from ..models.roles import Roles, system_definitions
from ..util import paginate
from . import targets


def _backend(ctx: Ctx) -> Roles:
    return Roles(ctx.state)


def list_(ctx: Ctx) -> dict[str, Any]:
    target = targets.query_resource(ctx)
    roles = _backend(ctx).list_(target.id, role_type=ctx.arg("type"), name=ctx.arg("name"))
    return {"roles": [views.role_view(r) for r in roles]}


def definitions(ctx: Ctx) -> dict[str, Any]:
    return {"roleDefinitions": system_definitions(ctx.arg("resourceType") or "")}


def create(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    role_id = _backend(ctx).create(actor=ctx.subject, definition=body.get("roleDefinition"),
                                   resource=body.get("resource"))
    return {"ID": role_id}


def get(ctx: Ctx) -> dict[str, Any]:
    return {"role": views.role_view(_backend(ctx).get(ctx.params["ID"]))}


def update(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    return {"ID": _backend(ctx).update(ctx.params["ID"], actor=ctx.subject,
                                       body_id=body.get("ID"),
                                       definition=body.get("roleDefinition"))}


def delete(ctx: Ctx) -> dict[str, Any]:
    return {"ID": _backend(ctx).delete(ctx.params["ID"])}


def assign(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    return {"ID": _backend(ctx).assign(body.get("ID"), body.get("members"),
                                       body.get("condition"))}


def unassign(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    return {"ID": _backend(ctx).unassign(body.get("ID"), body.get("members"))}


def members(ctx: Ctx) -> dict[str, Any]:
    pairs = _backend(ctx).members(ctx.params["ID"], member_type=ctx.arg("filterOps.type"),
                                  name=ctx.arg("filterOps.name"))
    out = [views.member_view(m, condition) for m, condition in pairs]
    return {"members": paginate(out, ctx.request.args)}


def roles_of_member(ctx: Ctx) -> dict[str, Any]:
    roles = _backend(ctx).roles_of_member(
        ctx.params["member_ID"], ctx.arg("member.type"),
        resource_id=ctx.arg("filterOps.resource.ID"),
        resource_type=ctx.arg("filterOps.resource.type"),
        role_type=ctx.arg("filterOps.roleType"), name=ctx.arg("filterOps.name"))
    out = [{"role": views.role_view(r), "resource": views.resource_view(r["resource"])}
           for r in roles]
    return {"roleToResource": paginate(out, ctx.request.args)}


def permissions_of_member(ctx: Ctx) -> dict[str, Any]:
    perms = _backend(ctx).permissions_of_member(ctx.params["member_ID"], ctx.arg("member.type"))
    return {"permissions": perms}
