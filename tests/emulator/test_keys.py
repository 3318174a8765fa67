"""JWT key pairs and API keys: create, list, get, rotate, delete; which credentials work."""

from __future__ import annotations

import base64
import re

from cryptography.hazmat.primitives import serialization

from .conftest import Api

KEYS = "/v1/serviceAccounts/{ID}/keys"
KEY = "/v1/serviceAccounts/{ID}/keys/{keyID}"
ROTATE = "/v1/serviceAccounts/{ID}/keys/{KeyID}/rotate"
APIKEYS = "/v1/serviceAccounts/{ID}/apikey"
APIKEY = "/v1/serviceAccounts/{ID}/apikey/{keyID}"
APIROTATE = "/v1/serviceAccounts/{ID}/apikey/{keyID}/rotate"


def _admin_sa(api: Api, name: str, **kw) -> dict:
    creds = api.create_sa(name, **kw)
    api.assign(api.system_role("ACCOUNT_ADMIN"), creds["clientID"])
    return creds


def test_multiple_live_keys_and_delete(api: Api, unique: str) -> None:
    first = api.create_sa(unique)
    sa_id = first["clientID"]
    second = api.call("POST", KEYS, path={"ID": sa_id}, expect=200).json()
    assert second["clientID"] == sa_id and second["keyID"] != first["keyID"]
    assert second["privateKey"].startswith("-----BEGIN PRIVATE KEY-----")
    listed = api.call("GET", KEYS, path={"ID": sa_id}, expect=200).json()["keys"]
    assert [k["keyID"] for k in listed] == [first["keyID"], second["keyID"]]
    assert "PRIVATE" not in str(listed)
    # both keys mint tokens (overlapping rotation)
    assert api.token_for(first) and api.token_for(second)
    r = api.call("DELETE", KEY, path={"ID": sa_id, "keyID": first["keyID"]}, expect=200)
    assert r.json() == {"ID": sa_id, "keyID": first["keyID"]}
    assert api.emu.exchange(api.emu.assertion(first)).status_code == 401
    assert api.token_for(second)
    assert api.call("GET", KEY, path={"ID": sa_id, "keyID": first["keyID"]}).status_code == 404


def test_get_key_returns_public_key_only(api: Api, unique: str) -> None:
    creds = api.create_sa(unique)
    path = {"ID": creds["clientID"], "keyID": creds["keyID"]}
    pem = api.call("GET", KEY, path=path, expect=200).json()
    assert "privateKeyData" not in pem
    public = serialization.load_pem_public_key(base64.b64decode(pem["publicKeyData"]))
    private = serialization.load_pem_private_key(creds["privateKey"].encode(), None)
    assert public.public_numbers() == private.public_key().public_numbers()  # type: ignore[union-attr]
    raw = api.call("GET", KEY, path=path, params={"publicKeyType": "TYPE_RAW_PUBLIC_KEY"},
                   expect=200).json()
    serialization.load_der_public_key(base64.b64decode(raw["publicKeyData"]))
    assert api.call("GET", KEY, path=path, params={"publicKeyType": "JPEG"}).status_code == 400


def test_rotate_key_replaces_it(api: Api, unique: str) -> None:
    creds = api.create_sa(unique)
    new = api.call("PUT", ROTATE, path={"ID": creds["clientID"], "KeyID": creds["keyID"]},
                   expect=200).json()
    assert new["keyID"] != creds["keyID"]
    assert api.emu.exchange(api.emu.assertion(creds)).status_code == 401
    assert api.token_for(new)


def test_key_of_another_account_is_404(api: Api, unique: str) -> None:
    a, b = api.create_sa(unique), api.create_sa(unique + "b")
    r = api.call("GET", KEY, path={"ID": a["clientID"], "keyID": b["keyID"]})
    assert r.status_code == 404


def test_api_key_sa_cannot_have_jwt_keys_and_vice_versa(api: Api, unique: str) -> None:
    jwt_sa = api.create_sa(unique)
    key_sa = api.create_sa(unique + "k", apiKeyEnabled=True)
    r = api.call("POST", APIKEYS, path={"ID": jwt_sa["clientID"]})
    assert r.status_code == 400 and "bearer tokens" in r.json()["error"]["message"]
    r = api.call("POST", KEYS, path={"ID": key_sa["clientID"]})
    assert r.status_code == 400 and "API keys" in r.json()["error"]["message"]


def test_api_key_lifecycle_and_use_as_bearer(api: Api, unique: str) -> None:
    creds = _admin_sa(api, unique, apiKeyEnabled=True)
    sa_id, first = creds["clientID"], creds["apiKey"]
    api.call("GET", "/v1/serviceAccounts", bearer=first, expect=200)
    second = api.call("POST", APIKEYS, path={"ID": sa_id}, expect=200).json()
    assert re.fullmatch(r"sky-[a-zA-Z0-9]{5}-[a-f0-9]{32}", second["apiKey"])
    assert second["privateKey"] == "" and second["keyID"] == ""
    listed = api.call("GET", APIKEYS, path={"ID": sa_id}, expect=200).json()["apiKeys"]
    assert [k["keyID"] for k in listed] == [creds["apiKeyID"], second["apiKeyID"]]
    assert all(k["status"] == "ACTIVE" for k in listed)
    assert listed[0]["identifier"] == first[:9] and first not in str(listed)
    one = api.call("GET", APIKEY, path={"ID": sa_id, "keyID": second["apiKeyID"]},
                   expect=200).json()
    assert one["keyID"] == second["apiKeyID"]
    # rotate: same keyID, new secret, old secret refused
    rotated = api.call("PUT", APIROTATE, path={"ID": sa_id, "keyID": creds["apiKeyID"]},
                       expect=200).json()
    assert rotated["apiKeyID"] == creds["apiKeyID"] and rotated["apiKey"] != first
    assert api.call("GET", "/v1/serviceAccounts", bearer=first).status_code == 401
    api.call("GET", "/v1/serviceAccounts", bearer=rotated["apiKey"], expect=200)
    # delete: refused afterwards
    r = api.call("DELETE", APIKEY, path={"ID": sa_id, "keyID": second["apiKeyID"]}, expect=200)
    assert r.json() == {"ID": sa_id, "keyID": second["apiKeyID"]}
    assert api.call("GET", "/v1/serviceAccounts", bearer=second["apiKey"]).status_code == 401
    # a well-formed key that never existed
    fake = "sky-abcde-" + "0" * 32
    assert api.call("GET", "/v1/serviceAccounts", bearer=fake).status_code == 401


def test_api_key_status_extension(api: Api, unique: str) -> None:
    creds = _admin_sa(api, unique, apiKeyEnabled=True)
    path = {"ID": creds["clientID"], "keyID": creds["apiKeyID"]}
    status = "/v1/serviceAccounts/{ID}/apikey/{keyID}/status"
    api.call("PATCH", status, path=path, json_body={"status": "INACTIVE"}, expect=200)
    assert api.call("GET", "/v1/serviceAccounts", bearer=creds["apiKey"]).status_code == 401
    api.call("PATCH", status, path=path, json_body={"status": "ACTIVE"}, expect=200)
    api.call("GET", "/v1/serviceAccounts", bearer=creds["apiKey"], expect=200)
    assert api.call("PATCH", status, path=path, json_body={"status": "x"}).status_code == 400


def test_deleting_an_account_removes_keys_and_memberships(api: Api, unique: str) -> None:
    creds = _admin_sa(api, unique, apiKeyEnabled=True)
    sa_id = creds["clientID"]
    api.call("DELETE", "/v1/serviceAccounts/{ID}", path={"ID": sa_id}, expect=200)
    assert api.call("GET", "/v1/serviceAccounts", bearer=creds["apiKey"]).status_code == 401
    admin_role = api.system_role("ACCOUNT_ADMIN")
    members = api.call("GET", "/v1/roles/{ID}/members", path={"ID": admin_role},
                       params={"limit": "1000"}, expect=200).json()["members"]
    assert sa_id not in [m["ID"] for m in members]
    r = api.call("GET", "/v1/members/{member.ID}/roles", path={"member.ID": sa_id},
                 params={"member.type": "SERVICE_ACCOUNT"})
    assert r.status_code == 404
