"""Vaults, their schema versions, and vault templates over HTTP."""

from __future__ import annotations

from typing import Any

from .. import views
from ..access import can
from ..context import Ctx
from ..errors import bad_request
from ..models.vaults import TEMPLATES, Vaults, template_doc
from ..permissions import Target
from ..util import paginate


def _backend(ctx: Ctx) -> Vaults:
    return Vaults(ctx.state)


def _flag(ctx: Ctx, name: str) -> bool:
    value = ctx.arg(name)
    if value in (None, "", "false", "False", "0"):
        return False
    if value in ("true", "True", "1"):
        return True
    raise bad_request(f"{name}: must be true or false")


def list_(ctx: Ctx) -> dict[str, Any]:
    """The vaults of a workspace (``workspaceID``) the caller may read."""
    items = _backend(ctx).list_(workspace=ctx.arg("workspaceID"), name=ctx.arg("filterOps.name"),
                               status=ctx.arg("filterOps.status"))
    readable = [v for v in items if can(ctx, "vault.read", Target("VAULT", v["ID"]))]
    meta = _flag(ctx, "fetchMetadataOnly")
    return {"vaults": [views.vault_view(v, meta) for v in paginate(readable, ctx.request.args)]}


def create(ctx: Ctx) -> dict[str, Any]:
    return {"ID": _backend(ctx).create(actor=ctx.subject, body=ctx.body())}


def get(ctx: Ctx) -> dict[str, Any]:
    vault = _backend(ctx).get(ctx.params["ID"])
    return {"vault": views.vault_view(vault, _flag(ctx, "fetchMetadataOnly")),
            "workspaceID": vault.get("workspaceID", "")}


def update(ctx: Ctx) -> dict[str, Any]:
    return {"ID": _backend(ctx).update(ctx.params["ID"], actor=ctx.subject, body=ctx.body())}


def delete(ctx: Ctx) -> dict[str, Any]:
    return {"ID": _backend(ctx).delete(ctx.params["ID"])}


def versions(ctx: Ctx) -> dict[str, Any]:
    items = _backend(ctx).versions(ctx.params["vaultID"])
    return {"schemaVersions": [views.vault_version_entry(v) for v in items]}


def version(ctx: Ctx) -> dict[str, Any]:
    return views.vault_version_view(_backend(ctx).version(ctx.params["vaultID"],
                                                          ctx.params["versionTag"]))


def list_templates(ctx: Ctx) -> dict[str, Any]:
    if ctx.arg("accountID") not in (None, "", ctx.account_id):
        raise bad_request("accountID: does not match X-Skyflow-Account-ID")
    if not ctx.arg("accountID"):
        raise bad_request("accountID: required")
    name = ctx.arg("filterOps.name")
    items = [template_doc(tid) for tid in TEMPLATES]
    items = [t for t in items if not name or t["name"] == name]
    return {"vaultTemplates": paginate(items, ctx.request.args)}


def get_template(ctx: Ctx) -> dict[str, Any]:
    return {"template": template_doc(ctx.params["ID"])}
