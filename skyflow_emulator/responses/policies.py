"""Policies and their attachment to roles over HTTP."""

from __future__ import annotations

from typing import Any

from .. import views
from ..context import Ctx
from ..models.policies import Policies
from ..util import paginate


def _backend(ctx: Ctx) -> Policies:
    return Policies(ctx.state)


def _views(pairs: list[tuple[dict[str, Any], list[str]]]) -> list[dict[str, Any]]:
    return [views.policy_view(p, role_ids) for p, role_ids in pairs]


def list_(ctx: Ctx) -> dict[str, Any]:
    pairs = _backend(ctx).list_(ctx.arg("resource.type"), ctx.arg("resource.ID"),
                               ctx.arg("filterOps.name"))
    return {"policies": _views(paginate(pairs, ctx.request.args))}


def create(ctx: Ctx) -> dict[str, Any]:
    return {"ID": _backend(ctx).create(actor=ctx.subject, body=ctx.body())}


def get(ctx: Ctx) -> dict[str, Any]:
    policy, role_ids = _backend(ctx).get(ctx.params["ID"])
    return {"policy": views.policy_view(policy, role_ids)}


def update(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    return {"ID": _backend(ctx).update(ctx.params["ID"], actor=ctx.subject,
                                       spec=body.get("policy") or {},
                                       rule_params=body.get("ruleParams"))}


def set_status(ctx: Ctx) -> dict[str, Any]:
    return {"ID": _backend(ctx).set_status(ctx.params["ID"], actor=ctx.subject,
                                           status=ctx.body().get("status"))}


def delete(ctx: Ctx) -> dict[str, Any]:
    return {"ID": _backend(ctx).delete(ctx.params["ID"])}


def assign(ctx: Ctx) -> dict[str, Any]:
    return {"ID": _backend(ctx).assign(ctx.body())}


def unassign(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    return {"ID": _backend(ctx).unassign(body.get("ID"), body.get("roleIDs"))}


def roles_of_policy(ctx: Ctx) -> dict[str, Any]:
    roles = _backend(ctx).roles_of_policy(ctx.params["policyID"])
    return {"roles": [views.role_view(r) for r in paginate(roles, ctx.request.args)]}


def policies_of_role(ctx: Ctx) -> dict[str, Any]:
    pairs = _backend(ctx).policies_of_role(ctx.params["roleID"], ctx.arg("filterOps.name"))
    return {"policies": _views(paginate(pairs, ctx.request.args))}
