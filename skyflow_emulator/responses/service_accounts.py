"""Service accounts, JWT key pairs and API keys over HTTP."""

from __future__ import annotations

import base64
from typing import Any

from .. import views
from ..auth import public_key_der_b64
from ..context import Ctx
from ..errors import bad_request
from ..models.service_accounts import Issued, ServiceAccounts
from ..util import opt_obj, paginate

PUBLIC_KEY_TYPES = ("TYPE_X509_PEM_FILE", "TYPE_RAW_PUBLIC_KEY", "TYPE_NONE")


def _backend(ctx: Ctx) -> ServiceAccounts:
    return ServiceAccounts(ctx.state)


def _credentials(ctx: Ctx, issued: Issued) -> dict[str, Any]:
    """A credentials.json (JWT) or the API-key form of v1ServiceAccountResponse."""
    if issued.api_key:
        return views.api_key_credentials(issued.sa, issued.key, issued.secret,
                                         ctx.state.token_uri)
    return views.jwt_credentials(issued.sa, issued.key, issued.secret, ctx.state.token_uri)


def create(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    issued = _backend(ctx).create(
        actor=ctx.subject, account=body.get("accountID"),
        spec=body.get("serviceAccount"), client_config=body.get("clientConfiguration"),
        api_key_enabled=body.get("apiKeyEnabled", False), resource=body.get("resource"))
    return _credentials(ctx, issued)


def get(ctx: Ctx) -> dict[str, Any]:
    return views.sa_view(_backend(ctx).get(ctx.params["ID"]))


def list_(ctx: Ctx) -> dict[str, Any]:
    items = _backend(ctx).list_(account=ctx.arg("accountID"), status=ctx.arg("status"),
                               name=ctx.arg("name"))
    return {"serviceAccounts": [views.sa_view(s) for s in paginate(items, ctx.request.args)]}


def update(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    sa = _backend(ctx).update(ctx.params["ID"], actor=ctx.subject,
                              spec=opt_obj(body, "serviceAccount", "serviceAccount") or {},
                              client_config=body.get("clientConfiguration"))
    return views.sa_update_view(sa)


def delete(ctx: Ctx) -> dict[str, Any]:
    return {"ID": _backend(ctx).delete(ctx.params["ID"])["ID"]}


def create_key(ctx: Ctx) -> dict[str, Any]:
    return _credentials(ctx, _backend(ctx).create_key(ctx.params["ID"]))


def list_keys(ctx: Ctx) -> dict[str, Any]:
    keys = _backend(ctx).list_keys(ctx.params["ID"], ctx.request.args.getlist("keyTypes"))
    return {"keys": [views.key_view(k) for k in keys]}


def get_key(ctx: Ctx) -> dict[str, Any]:
    kind = ctx.arg("publicKeyType") or "TYPE_X509_PEM_FILE"
    if kind not in PUBLIC_KEY_TYPES:
        raise bad_request("publicKeyType: invalid value")
    key = _backend(ctx).get_key(ctx.params["ID"], ctx.params["keyID"])
    out = views.key_view(key)
    if kind == "TYPE_X509_PEM_FILE":
        out["publicKeyData"] = base64.b64encode(key["publicKey"].encode()).decode()
    elif kind == "TYPE_RAW_PUBLIC_KEY":
        out["publicKeyData"] = public_key_der_b64(key["publicKey"])
    return out


def rotate_key(ctx: Ctx) -> dict[str, Any]:
    return _credentials(ctx, _backend(ctx).rotate_key(ctx.params["ID"], ctx.params["KeyID"]))


def delete_key(ctx: Ctx) -> dict[str, Any]:
    key = _backend(ctx).delete_key(ctx.params["ID"], ctx.params["keyID"])
    return {"ID": key["saID"], "keyID": key["keyID"]}


def create_api_key(ctx: Ctx) -> dict[str, Any]:
    return _credentials(ctx, _backend(ctx).create_api_key(ctx.params["ID"]))


def list_api_keys(ctx: Ctx) -> dict[str, Any]:
    keys = _backend(ctx).list_api_keys(ctx.params["ID"])
    return {"apiKeys": [views.api_key_view(k) for k in keys]}


def get_api_key(ctx: Ctx) -> dict[str, Any]:
    return views.api_key_view(_backend(ctx).get_api_key(ctx.params["ID"], ctx.params["keyID"]))


def rotate_api_key(ctx: Ctx) -> dict[str, Any]:
    return _credentials(ctx, _backend(ctx).rotate_api_key(ctx.params["ID"],
                                                          ctx.params["keyID"]))


def delete_api_key(ctx: Ctx) -> dict[str, Any]:
    key = _backend(ctx).delete_key(ctx.params["ID"], ctx.params["keyID"], kind="apikey")
    return {"ID": key["saID"], "keyID": key["keyID"]}


def set_api_key_status(ctx: Ctx) -> dict[str, Any]:
    """EMULATOR EXTENSION (not in the spec): enable or disable an API key."""
    key = _backend(ctx).set_api_key_status(ctx.params["ID"], ctx.params["keyID"],
                                           ctx.body().get("status"))
    return views.api_key_view(key)
