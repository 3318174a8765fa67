"""Conditional role assignments: the CEL condition decides, per request, whether a role counts."""

from __future__ import annotations

import pytest

from .conftest import Api


def _setup(api: Api, name: str, condition: str) -> dict:
    creds = api.create_sa(name)
    rid = api.create_role(name.replace("-", "_"), ["serviceAccount.read"],
                          resource=("ACCOUNT", api.emu.account_id))
    api.assign(rid, creds["clientID"], condition=condition)
    return creds


def _status(api: Api, creds: dict, ctx: object = None) -> int:
    return api.call("GET", "/v1/serviceAccounts", bearer=api.token_for(creds, ctx=ctx)).status_code


def test_context_condition(api: Api, unique: str) -> None:
    creds = _setup(api, unique, "request.context.role == 'admin'")
    assert _status(api, creds, {"role": "admin"}) == 200
    assert _status(api, creds, {"role": "guest"}) == 403
    assert _status(api, creds) == 403  # no ctx: the condition cannot hold


def test_string_context_and_time_window(api: Api, unique: str) -> None:
    creds = _setup(api, unique, "request.context == 'batch' && "
                                "request.time < timestamp('2100-01-01T00:00:00Z')")
    assert _status(api, creds, "batch") == 200
    expired = _setup(api, unique + "-old", "request.time < timestamp('2001-01-01T00:00:00Z')")
    assert _status(api, expired, "batch") == 403


def test_origin_ip_condition(api: Api, unique: str) -> None:
    creds = _setup(api, unique, "request.originIP in ['127.0.0.1', '::1']")
    assert _status(api, creds) == 200
    other = _setup(api, unique + "-x", "!(request.originIP == '127.0.0.1')")
    assert _status(api, other) == 403


def test_standard_cel_functions_work(api: Api, unique: str) -> None:
    """Real CEL, not a subset: size(), startsWith() and map membership evaluate as CEL says."""
    creds = _setup(api, unique, "size(request.context) == 2 && 'repository' in request.context "
                                "&& request.context.ref.startsWith('refs/heads/')")
    assert _status(api, creds, {"repository": "o/r", "ref": "refs/heads/main"}) == 200
    assert _status(api, creds, {"repository": "o/r", "ref": "refs/tags/v1"}) == 403
    assert _status(api, creds, {"repository": "o/r"}) == 403


# Refused when assigned: unknown variable, syntax error, unknown field of request, an operator
# on the wrong types, and expressions that are not booleans.
@pytest.mark.parametrize("condition", ["user.id == 1", "request.context.role ==",
                                       "request.headers.x == 'y'", "request.originIP + 1 == 2",
                                       "'admin'", "request.time"])
def test_unsupported_conditions_are_refused(api: Api, unique: str, condition: str) -> None:
    creds = api.create_sa(unique)
    r = api.call("POST", "/v1/roles/assign", json_body={
        "ID": api.system_role("VAULT_VIEWER"), "condition": condition,
        "members": [{"ID": creds["clientID"], "type": "SERVICE_ACCOUNT"}]})
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("condition")
