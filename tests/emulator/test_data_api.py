"""The Data API slice: insert, get, detokenize; vault-role authorization, ctx, CORS."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from skyflow_emulator.routes import ADMIN_ROUTES, ALL_ROUTES, DATA_ROUTES, ROUTES
from tests.helpers.emulator_proc import EmulatorProcess

from .conftest import Api

ORIGIN = "https://app.example.test"
INSERT = "/v1/vaults/{vaultID}/{table}"
DETOKENIZE = "/v1/vaults/{vaultID}/detokenize"


@pytest.fixture(scope="module")
def demu() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(extra_args=["--cors-origin", ORIGIN,
                                     "--cors-origin", "http://localhost:5173"]) as e:
        yield e


@pytest.fixture(scope="module")
def dapi(demu: EmulatorProcess) -> Api:
    return Api(demu)


def _token(api: Api, name: str, *roles: str, ctx: Any = None,
           scope: list[str] | None = None) -> str:
    creds = api.create_sa(name)
    for role in roles:
        api.assign(api.system_role(role) if role.isupper() else role, creds["clientID"])
    return api.token_for(creds, ctx=ctx, roles=scope)


def _insert(api: Api, token: Any, fields: dict[str, Any], *, vault: str | None = None,
            table: str = "persons", tokenization: bool = True, **kw: Any):
    return api.call("POST", INSERT, account=None, bearer=token, **kw,
                    path={"vaultID": vault or api.emu.vault_id, "table": table},
                    json_body={"records": [{"fields": fields}], "tokenization": tokenization})


def _get(api: Api, token: Any, ids: list[str], table: str = "persons", **params: str):
    return api.call("GET", INSERT, account=None, bearer=token,
                    path={"vaultID": api.emu.vault_id, "table": table},
                    params={"skyflow_ids": ids, **params})


def _detokenize(api: Api, token: Any, tokens: list[str], **kw: Any):
    return api.call("POST", DETOKENIZE, account=None, bearer=token,
                    path={"vaultID": api.emu.vault_id}, **kw,
                    json_body={"detokenizationParameters": [{"token": t} for t in tokens]})


def test_insert_get_detokenize_round_trip(dapi: Api) -> None:
    owner = _token(dapi, "data-owner", "VAULT_OWNER")
    r = _insert(dapi, owner, {"name": "Ada", "card": "4111111111111111", "age": 36}, expect=200)
    (rec,) = r.json()["records"]
    assert set(rec) == {"skyflow_id", "tokens"} and set(rec["tokens"]) == {"name", "card", "age"}
    sid = rec["skyflow_id"]
    got = _get(dapi, owner, [sid], redaction="PLAIN_TEXT", expect=200).json()
    assert got == {"records": [{"fields": {"name": "Ada", "card": "4111111111111111",
                                           "age": 36, "skyflow_id": sid}}]}
    masked = _get(dapi, owner, [sid], redaction="MASKED", expect=200).json()
    assert masked["records"][0]["fields"]["card"] == "************1111"
    redacted = _get(dapi, owner, [sid], redaction="REDACTED", expect=200).json()
    assert redacted["records"][0]["fields"]["name"] == "*REDACTED*"
    d = _detokenize(dapi, owner, [rec["tokens"]["name"], rec["tokens"]["age"]], expect=200)
    assert d.json() == {"records": [
        {"token": rec["tokens"]["name"], "value": "Ada", "valueType": "STRING"},
        {"token": rec["tokens"]["age"], "value": "36", "valueType": "INTEGER"}]}
    # without tokenization only the id comes back
    plain = _insert(dapi, owner, {"name": "Bob"}, tokenization=False, expect=200).json()
    assert list(plain["records"][0]) == ["skyflow_id"]
    # unknown tokens and ids are 404
    assert _detokenize(dapi, owner, ["no-such-token"]).status_code == 404
    assert _get(dapi, owner, ["00000000-0000-0000-0000-000000000000"]).status_code == 404
    log = [e for e in dapi.emu.read_request_log() if e["template"] in (INSERT, DETOKENIZE)]
    assert {e["operation"] for e in log} >= {"RecordService_InsertRecord",
                                             "RecordService_BulkGetRecord",
                                             "RecordService_Detokenize"}
    assert all(e["subject"] for e in log if e["status"] == 200)


def test_editor_may_insert_and_read(dapi: Api) -> None:
    editor = _token(dapi, "data-editor", "VAULT_EDITOR")
    rec = _insert(dapi, editor, {"email": "e@x.test"}, expect=200).json()["records"][0]
    sid = rec["skyflow_id"]
    # What the editor inserted is what it reads back, by id and through its token.
    got = _get(dapi, editor, [sid], redaction="PLAIN_TEXT", expect=200).json()
    assert got == {"records": [{"fields": {"email": "e@x.test", "skyflow_id": sid}}]}
    d = _detokenize(dapi, editor, [rec["tokens"]["email"]], expect=200).json()
    assert d == {"records": [{"token": rec["tokens"]["email"], "value": "e@x.test",
                              "valueType": "STRING"}]}
    inserts = [e for e in dapi.emu.read_request_log()
               if e["template"] == INSERT and e["method"] == "POST" and e["status"] == 200]
    assert inserts[-1]["subject"] == jwt.decode(editor, options={"verify_signature": False})["sub"]


def test_viewer_reads_but_cannot_insert(dapi: Api) -> None:
    owner = _token(dapi, "data-owner2", "VAULT_OWNER")
    rec = _insert(dapi, owner, {"email": "v@x.test"}, expect=200).json()["records"][0]
    viewer = _token(dapi, "data-viewer", "VAULT_VIEWER")
    _get(dapi, viewer, [rec["skyflow_id"]], expect=200)
    _detokenize(dapi, viewer, [rec["tokens"]["email"]], expect=200)
    r = _insert(dapi, viewer, {"email": "no@x.test"})
    assert r.status_code == 403
    assert "missing permission record.create" in r.json()["error"]["message"]


def test_no_role_on_the_vault_is_403(dapi: Api) -> None:
    owner = _token(dapi, "data-owner3", "VAULT_OWNER")
    rec = _insert(dapi, owner, {"email": "n@x.test"}, expect=200).json()["records"][0]
    for token in (_token(dapi, "data-nobody"),
                  _token(dapi, "data-acct-admin", "ACCOUNT_ADMIN")):  # account roles: no data
        r = _insert(dapi, token, {"email": "x@x.test"})
        assert r.status_code == 403 and "no role on vault" in r.json()["error"]["message"]
        assert _get(dapi, token, [rec["skyflow_id"]]).status_code == 403
        assert _detokenize(dapi, token, [rec["tokens"]["email"]]).status_code == 403


def test_no_or_invalid_token_is_401(dapi: Api) -> None:
    assert _insert(dapi, None, {"a": "b"}).status_code == 401
    assert _insert(dapi, "not-a-token", {"a": "b"}).status_code == 401
    assert _get(dapi, None, ["abc"]).status_code == 401
    assert _detokenize(dapi, "x.y.z", ["t"]).status_code == 401


def test_scoped_token_and_custom_roles(dapi: Api) -> None:
    creds = dapi.create_sa("data-scoped")
    viewer, owner = dapi.system_role("VAULT_VIEWER"), dapi.system_role("VAULT_OWNER")
    dapi.assign(viewer, creds["clientID"])
    dapi.assign(owner, creds["clientID"])
    _insert(dapi, dapi.token_for(creds), {"a": "b"}, expect=200)
    scoped = dapi.token_for(creds, roles=[viewer])
    assert _insert(dapi, scoped, {"a": "b"}).status_code == 403
    # a custom role on the vault grants what its permissions match
    reader = dapi.create_role("DataReader", ["record.read"])
    writer = dapi.create_role("DataWriter", ["record.*"])
    rt, wt = _token(dapi, "data-reader", reader), _token(dapi, "data-writer", writer)
    rec = _insert(dapi, wt, {"a": "b"}, expect=200).json()["records"][0]
    assert _insert(dapi, rt, {"a": "b"}).status_code == 403
    _get(dapi, rt, [rec["skyflow_id"]], expect=200)


def test_context_mismatch_is_403(dapi: Api) -> None:
    creds = dapi.create_sa("data-ctx")
    dapi.assign(dapi.system_role("VAULT_EDITOR"), creds["clientID"])
    alice = dapi.token_for(creds, ctx="alice")
    rec = _insert(dapi, alice, {"ssn": "123-45-6789"}, table="ctxed",
                  expect=200).json()["records"][0]
    _get(dapi, alice, [rec["skyflow_id"]], table="ctxed", expect=200)
    _detokenize(dapi, alice, [rec["tokens"]["ssn"]], expect=200)
    for other in (dapi.token_for(creds, ctx="bob"), dapi.token_for(creds)):
        r = _get(dapi, other, [rec["skyflow_id"]], table="ctxed")
        assert r.status_code == 403 and "context mismatch" in r.json()["error"]["message"]
        assert _detokenize(dapi, other, [rec["tokens"]["ssn"]]).status_code == 403
        # listing the table shows only what that ctx may see
        listed = dapi.call("GET", INSERT, account=None, bearer=other, expect=200,
                           path={"vaultID": dapi.emu.vault_id, "table": "ctxed"}).json()
        assert rec["skyflow_id"] not in {x["fields"]["skyflow_id"] for x in listed["records"]}
    # a record written without ctx is readable by any ctx
    free = _insert(dapi, dapi.token_for(creds), {"ssn": "000"}, table="ctxed",
                   expect=200).json()["records"][0]
    _get(dapi, alice, [free["skyflow_id"]], table="ctxed", expect=200)


def test_unknown_vault_is_404(dapi: Api) -> None:
    owner = _token(dapi, "data-owner4", "VAULT_OWNER")
    r = _insert(dapi, owner, {"a": "b"}, vault="0123456789abcdef0123456789abcdef")
    assert r.status_code == 404 and "vault" in r.json()["error"]["message"]
    r = dapi.call("POST", DETOKENIZE, account=None, bearer=owner, path={"vaultID": "nope"},
                  json_body={"detokenizationParameters": [{"token": "t"}]})
    assert r.status_code == 404


def test_cors_allowed_and_refused_origins(dapi: Api, api: Api) -> None:
    owner = _token(dapi, "data-cors", "VAULT_OWNER")
    path = {"vaultID": dapi.emu.vault_id, "table": "persons"}
    r = _insert(dapi, owner, {"a": "b"}, headers={"Origin": ORIGIN}, expect=200)
    assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "X-Request-ID" in r.headers["Access-Control-Expose-Headers"]
    # errors carry the header too, so the page can read them
    r = _insert(dapi, None, {"a": "b"}, headers={"Origin": ORIGIN})
    assert r.status_code == 401 and r.headers["Access-Control-Allow-Origin"] == ORIGIN
    r = _insert(dapi, owner, {"a": "b"}, headers={"Origin": "https://evil.test"})
    assert "Access-Control-Allow-Origin" not in r.headers
    s = dapi.emu.session()
    url = dapi.emu.url + INSERT.format(**path)
    pre = s.options(url, timeout=10, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,sky-metadata"})
    assert pre.status_code == 204
    assert pre.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    allowed = pre.headers["Access-Control-Allow-Headers"].lower()
    assert {"authorization", "content-type", "sky-metadata"} <= set(allowed.split(", "))
    refused = s.options(url, timeout=10, headers={
        "Origin": "https://evil.test", "Access-Control-Request-Method": "POST"})
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    odd = s.options(url, timeout=10, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-evil"})
    assert odd.status_code == 403
    # management routes and an emulator without --cors-origin: no CORS at all
    assert s.options(dapi.emu.url + "/v1/serviceAccounts", timeout=10,
                     headers={"Origin": ORIGIN}).status_code == 405
    plain = _token(api, "data-nocors", "VAULT_OWNER")
    r = _insert(api, plain, {"a": "b"}, headers={"Origin": ORIGIN}, expect=200)
    assert "Access-Control-Allow-Origin" not in r.headers
    pre = api.emu.session().options(api.emu.url + INSERT.format(
        vaultID=api.emu.vault_id, table="persons"), timeout=10,
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 403 and "Access-Control-Allow-Origin" not in pre.headers


def test_every_route_is_in_the_one_table() -> None:
    assert ALL_ROUTES == ROUTES + DATA_ROUTES + ADMIN_ROUTES
    assert {r.api for r in DATA_ROUTES} == {"data"} and {r.auth for r in DATA_ROUTES} == {"data"}
    assert {(r.method, r.template, r.auth) for r in ADMIN_ROUTES} == {
        ("GET", "/_emulator/health", "admin"), ("GET", "/_emulator/faults", "admin"),
        ("PUT", "/_emulator/faults", "admin"), ("GET", "/_emulator/keys", "admin")}
    assert {r.operation for r in DATA_ROUTES} == {
        "RecordService_InsertRecord", "RecordService_BulkGetRecord", "RecordService_Detokenize"}
    assert len({(r.method, r.template) for r in ALL_ROUTES}) == len(ALL_ROUTES)
