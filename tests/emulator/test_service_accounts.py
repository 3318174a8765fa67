"""Service accounts: create (both shapes), get, list, patch, delete; secrets shown once."""

from __future__ import annotations

import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .conftest import Api

SA = "/v1/serviceAccounts"
ONE = "/v1/serviceAccounts/{ID}"
API_KEY_RE = re.compile(r"^sky-[a-zA-Z0-9]{5}-[a-f0-9]{32}$")


def test_create_returns_credentials_json_once(api: Api, unique: str) -> None:
    creds = api.create_sa(unique, sa={"displayName": "Payments", "description": "d"})
    assert re.fullmatch(r"[0-9a-f]{32}", creds["clientID"])
    assert creds["clientName"] == unique
    assert creds["tokenURI"] == api.emu.url + "/v1/auth/sa/oauth/token"
    assert creds["keyAlgorithm"] == "KEY_ALG_RSA_2048"
    assert creds["apiKey"] == "" and creds["apiKeyID"] == ""
    assert creds["privateKey"].startswith("-----BEGIN PRIVATE KEY-----")
    key = serialization.load_pem_private_key(creds["privateKey"].encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    # GET and list never show it again
    got = api.call("GET", ONE, path={"ID": creds["clientID"]}, expect=200)
    listed = api.call("GET", SA, params={"name": unique}, expect=200)
    for r in (got, listed):
        assert "PRIVATE KEY" not in r.text and creds["keyID"] not in r.text
    sa = got.json()["serviceAccount"]
    assert sa["name"] == unique and sa["displayName"] == "Payments" and sa["description"] == "d"
    assert sa["ID"] == creds["clientID"] and sa["status"] == "ACTIVE"
    assert sa["namespace"].endswith(f"serviceAccount:{creds['clientID']}")
    # and the fresh credentials work straight away
    assert api.token_for(creds)


def test_create_with_deprecated_resource_wrapper(api: Api, unique: str) -> None:
    creds = api.create_sa(unique, resource={"ID": api.emu.vault_id, "type": "VAULT"})
    api.call("GET", ONE, path={"ID": creds["clientID"]}, expect=200)
    r = api.call("POST", SA, json_body={"serviceAccount": {"name": unique},
                                        "resource": {"ID": "f" * 32, "type": "VAULT"}})
    assert r.status_code == 404


def test_create_api_key_account(api: Api, unique: str) -> None:
    creds = api.create_sa(unique, apiKeyEnabled=True)
    assert API_KEY_RE.match(creds["apiKey"]) and creds["apiKeyID"]
    assert creds["privateKey"] == "" and creds["keyID"] == ""
    got = api.call("GET", ONE, path={"ID": creds["clientID"]}, expect=200)
    assert creds["apiKey"] not in got.text


def test_create_with_client_configuration_and_ip_allowlist(api: Api, unique: str) -> None:
    creds = api.create_sa(unique, sa={"ipAllowlist": {"status": "ACTIVE_AUTH_ONLY",
                                                      "cidrBlocks": ["10.0.0.0/8"]}},
                          clientConfiguration={"enforceContextID": True})
    got = api.call("GET", ONE, path={"ID": creds["clientID"]}, expect=200).json()
    assert got["clientConfiguration"] == {"enforceContextID": True,
                                          "enforceSignedDataTokens": False}
    assert got["serviceAccount"]["ipAllowlist"] == {"status": "ACTIVE_AUTH_ONLY",
                                                    "cidrBlocks": ["10.0.0.0/8"]}
    # 127.0.0.1 is outside the allowlist: no token
    r = api.emu.exchange(api.emu.assertion(creds, ctx="x"))
    assert r.status_code == 403 and "allowlist" in r.json()["error"]["message"]


@pytest.mark.parametrize("body,field", [
    ({}, "serviceAccount"),
    ({"serviceAccount": {}}, "serviceAccount.name"),
    ({"serviceAccount": {"name": ""}}, "serviceAccount.name"),
    ({"serviceAccount": {"name": 5}}, "serviceAccount.name"),
    ({"serviceAccount": {"name": "x" * 300}}, "serviceAccount.name"),
    ({"serviceAccount": {"name": "x"}, "apiKeyEnabled": "yes"}, "apiKeyEnabled"),
    ({"serviceAccount": {"name": "x"}, "clientConfiguration": {"enforceContextID": 1}},
     "clientConfiguration.enforceContextID"),
    ({"serviceAccount": {"name": "x", "ipAllowlist": {"status": "ON"}}},
     "serviceAccount.ipAllowlist.status"),
    ({"serviceAccount": {"name": "x", "ipAllowlist": {"cidrBlocks": ["nope"]}}},
     "serviceAccount.ipAllowlist.cidrBlocks[0]"),
    ({"serviceAccount": {"name": "x", "ipAllowlist": {"cidrBlocks": ["10.0.0.0/8"] * 11}}},
     "serviceAccount.ipAllowlist.cidrBlocks"),
    ({"serviceAccount": {"name": "x"}, "accountID": "0" * 32}, "accountID"),
])
def test_malformed_create_is_400_naming_the_field(api: Api, body: dict, field: str) -> None:
    r = api.call("POST", SA, json_body=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"].startswith(field)


def test_body_must_be_a_json_object(api: Api) -> None:
    assert api.call("POST", SA, raw=b"[1,2]").status_code == 400
    assert api.call("POST", SA, raw=b"{bad json").status_code == 400


def test_list_filters_and_pagination(api: Api, unique: str) -> None:
    ids = [api.create_sa(unique)["clientID"] for _ in range(3)]
    page = api.call("GET", SA, params={"name": unique}, expect=200).json()["serviceAccounts"]
    assert [s["serviceAccount"]["ID"] for s in page] == ids
    first = api.call("GET", SA, params={"name": unique, "limit": "2"}, expect=200).json()
    second = api.call("GET", SA, params={"name": unique, "limit": "2", "offset": "2"},
                      expect=200).json()
    assert [s["serviceAccount"]["ID"] for s in first["serviceAccounts"]] == ids[:2]
    assert [s["serviceAccount"]["ID"] for s in second["serviceAccounts"]] == ids[2:]
    none = api.call("GET", SA, params={"name": unique, "status": "INACTIVE"}, expect=200)
    assert none.json()["serviceAccounts"] == []
    assert api.call("GET", SA, params={"limit": "lots"}).status_code == 400
    assert api.call("GET", SA, params={"status": "WHATEVER"}).status_code == 400


def test_default_page_size_is_25(api: Api) -> None:
    for i in range(26):
        api.create_sa(f"page-filler-{i}")
    page = api.call("GET", SA, expect=200).json()["serviceAccounts"]
    assert len(page) == 25


def test_patch_merges_fields_and_keeps_the_rest(api: Api, unique: str) -> None:
    creds = api.create_sa(unique, sa={"displayName": "A", "description": "keep me"})
    r = api.call("PATCH", ONE, path={"ID": creds["clientID"]}, expect=200, json_body={
        "serviceAccount": {"displayName": "B"},
        "clientConfiguration": {"enforceSignedDataTokens": True}})
    assert r.json()["displayName"] == "B" and r.json()["name"] == unique
    got = api.call("GET", ONE, path={"ID": creds["clientID"]}, expect=200).json()
    assert got["serviceAccount"]["displayName"] == "B"
    assert got["serviceAccount"]["description"] == "keep me"
    assert got["clientConfiguration"]["enforceSignedDataTokens"] is True
    audit = got["serviceAccount"]["BasicAudit"]
    assert audit["LastModifiedOn"] >= audit["CreatedOn"]
    # name is not in SPEC's update schema: the same name is tolerated, a new one refused
    api.call("PATCH", ONE, path={"ID": creds["clientID"]}, expect=200,
             json_body={"serviceAccount": {"name": unique}})
    r = api.call("PATCH", ONE, path={"ID": creds["clientID"]},
                 json_body={"serviceAccount": {"name": "renamed"}})
    assert r.status_code == 400 and "serviceAccount.name" in r.json()["error"]["message"]


def test_delete_then_404(api: Api, unique: str) -> None:
    creds = api.create_sa(unique)
    r = api.call("DELETE", ONE, path={"ID": creds["clientID"]}, expect=200)
    assert r.json() == {"ID": creds["clientID"]}
    for method in ("GET", "PATCH", "DELETE"):
        r = api.call(method, ONE, path={"ID": creds["clientID"]}, json_body={})
        assert r.status_code == 404 and r.json()["error"]["grpc_code"] == 5


def test_bootstrap_admin_cannot_be_deleted(api: Api) -> None:
    r = api.call("DELETE", ONE, path={"ID": api.emu.admin_credentials["clientID"]})
    assert r.status_code == 400


@pytest.mark.parametrize("bad", ["..%2F..%2Fetc", "x%27%20OR%201%3D1", "a" * 65, "%00",
                                 "a.b", "a%20b"])
def test_path_ids_are_validated(api: Api, bad: str) -> None:
    r = api.session.get(api.emu.url + f"/v1/serviceAccounts/{bad}", timeout=30,
                        headers={"Authorization": f"Bearer {api.admin_token}",
                                 "X-Skyflow-Account-ID": api.emu.account_id})
    assert r.status_code == 404
    assert r.json()["error"]["http_code"] == 404


def test_unknown_path_and_method(api: Api) -> None:
    r = api.call("GET", "/v1/nothing-here")
    assert r.status_code == 404
    r = api.call("PUT", SA, json_body={})
    assert r.status_code == 405


def test_ip_allowlist_active_all_applies_to_every_call(api: Api, unique: str) -> None:
    creds = api.create_sa(unique, apiKeyEnabled=True,
                          sa={"ipAllowlist": {"status": "ACTIVE_ALL",
                                              "cidrBlocks": ["10.0.0.0/8"]}})
    api.assign(api.system_role("ACCOUNT_ADMIN"), creds["clientID"])
    r = api.call("GET", SA, bearer=creds["apiKey"])
    assert r.status_code == 403 and "allowlist" in r.json()["error"]["message"]
    api.call("PATCH", ONE, path={"ID": creds["clientID"]}, expect=200, json_body={
        "serviceAccount": {"ipAllowlist": {"status": "ACTIVE_ALL",
                                           "cidrBlocks": ["10.0.0.0/8", "127.0.0.1/32"]}}})
    api.call("GET", SA, bearer=creds["apiKey"], expect=200)


def test_oversized_body_is_413(api: Api) -> None:
    r = api.call("POST", SA, raw=b'{"serviceAccount": {"name": "' + b"x" * (1 << 20) + b'"}}')
    assert r.status_code == 413
