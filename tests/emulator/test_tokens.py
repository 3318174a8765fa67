"""Token exchange: what Skyflow accepts, and every way an assertion must be refused."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .conftest import Api, validate

TOKEN = "/v1/auth/sa/oauth/token"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _exchange(api: Api, assertion: str, scope: str | None = None, **extra: object):
    body: dict[str, object] = {"grant_type": GRANT, "assertion": assertion, **extra}
    if scope is not None:
        body["scope"] = scope
    return api.call("POST", TOKEN, json_body=body, bearer=None, account=None)


def _refused(r, status: int = 401, grpc: int = 16, words: str = "") -> None:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["grpc_code"] == grpc and err["http_code"] == status and err["details"] == []
    assert words.lower() in err["message"].lower()


def _other_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def test_valid_assertion_gives_a_60_minute_bearer_token(api: Api) -> None:
    r = _exchange(api, api.emu.assertion())
    assert r.status_code == 200
    body = r.json()
    assert body["tokenType"] == "Bearer"
    claims = jwt.decode(body["accessToken"], options={"verify_signature": False})
    assert claims["sub"] == api.emu.admin_credentials["clientID"]
    assert 3590 <= claims["exp"] - time.time() <= 3610
    # and the token works on a management call
    api.call("GET", "/v1/serviceAccounts", bearer=body["accessToken"], expect=200)


def test_wrong_signature_is_refused(api: Api) -> None:
    creds = dict(api.emu.admin_credentials, privateKey=_other_key())
    _refused(_exchange(api, api.emu.assertion(creds)), words="signature")


def test_expired_assertion_is_refused(api: Api) -> None:
    _refused(_exchange(api, api.emu.assertion(exp_in=-600)), words="expired")


def test_wrong_audience_is_refused(api: Api) -> None:
    bad = api.emu.assertion(aud="https://manage.skyflowapis.com/v1/auth/sa/oauth/token")
    _refused(_exchange(api, bad), words="audience")


def test_unknown_key_id_is_refused(api: Api) -> None:
    creds = dict(api.emu.admin_credentials, keyID="0" * 32)
    _refused(_exchange(api, api.emu.assertion(creds)), words="key")


def test_iss_must_equal_sub(api: Api) -> None:
    _refused(_exchange(api, api.emu.assertion(sub="f" * 32)), words="iss")


def test_unknown_client_is_refused(api: Api) -> None:
    creds = dict(api.emu.admin_credentials, clientID="a" * 32)
    _refused(_exchange(api, api.emu.assertion(creds)), words="clientID")


def test_exp_absurdly_far_is_refused(api: Api) -> None:
    _refused(_exchange(api, api.emu.assertion(exp_in=86400 * 30)), words="future")


def test_missing_exp_is_refused(api: Api) -> None:
    creds = api.emu.admin_credentials
    assertion = jwt.encode({"iss": creds["clientID"], "sub": creds["clientID"],
                            "key": creds["keyID"], "aud": creds["tokenURI"]},
                           creds["privateKey"], algorithm="RS256")
    _refused(_exchange(api, assertion))


def test_unparseable_and_hs256_assertions_are_refused(api: Api) -> None:
    _refused(_exchange(api, "not-a-jwt"), words="unparseable")
    creds = api.emu.admin_credentials
    hs = jwt.encode({"iss": creds["clientID"], "sub": creds["clientID"], "key": creds["keyID"],
                     "aud": creds["tokenURI"], "exp": int(time.time()) + 60},
                    "secret-secret-secret-secret-secret!", algorithm="HS256")
    _refused(_exchange(api, hs), words="RS256")


def test_bad_grant_type_and_missing_assertion_are_400(api: Api) -> None:
    r = api.call("POST", TOKEN, bearer=None, account=None,
                 json_body={"grant_type": "client_credentials", "assertion": "x"})
    _refused(r, 400, 3, "grant_type")
    r = api.call("POST", TOKEN, bearer=None, account=None, json_body={"grant_type": GRANT})
    _refused(r, 400, 3, "assertion")
    r = api.call("POST", TOKEN, bearer=None, account=None, raw=b"{nope")
    _refused(r, 400, 3, "JSON")


def test_form_encoded_request_is_accepted(api: Api) -> None:
    r = api.session.post(api.emu.url + TOKEN, timeout=30,
                         data={"grant_type": GRANT, "assertion": api.emu.assertion()})
    assert r.status_code == 200, r.text
    validate("POST", TOKEN, r)


def test_ctx_string_and_object_are_carried_as_context_identifier(api: Api) -> None:
    for ctx in ("user-42", {"role": "admin", "region_1": "eu"}):
        r = _exchange(api, api.emu.assertion(ctx=ctx))
        assert r.status_code == 200, r.text
        claims = jwt.decode(r.json()["accessToken"], options={"verify_signature": False})
        assert claims["context_identifier"] == ctx


def test_ctx_object_keys_are_checked(api: Api) -> None:
    _refused(_exchange(api, api.emu.assertion(ctx={"bad key!": "x"})), words="ctx")


def test_enforce_context_id_requires_ctx(api: Api, unique: str) -> None:
    creds = api.create_sa(unique, clientConfiguration={"enforceContextID": True})
    _refused(_exchange(api, api.emu.assertion(creds)), words="ctx")
    r = _exchange(api, api.emu.assertion(creds, ctx="tenant-1"))
    assert r.status_code == 200, r.text


def test_scope_limits_token_to_assigned_roles(api: Api, unique: str) -> None:
    creds = api.create_sa(unique)
    viewer, editor = api.system_role("VAULT_VIEWER"), api.system_role("VAULT_EDITOR")
    api.assign(viewer, creds["clientID"])
    r = _exchange(api, api.emu.assertion(creds), scope=f"role:{viewer}")
    assert r.status_code == 200, r.text
    claims = jwt.decode(r.json()["accessToken"], options={"verify_signature": False})
    assert claims["scope"] == f"role:{viewer}"
    # a role the account does not hold
    r = _exchange(api, api.emu.assertion(creds), scope=f"role:{viewer} role:{editor}")
    _refused(r, 400, 3, editor)
    # malformed scope (SPEC's example message)
    r = _exchange(api, api.emu.assertion(creds), scope="admin")
    _refused(r, 400, 3, "Scopes in request token in wrong format")


def test_api_key_account_cannot_get_a_bearer_token(api: Api, unique: str) -> None:
    creds = api.create_sa(unique, apiKeyEnabled=True)
    fake = dict(creds, keyID="b" * 32, privateKey=_other_key())
    _refused(_exchange(api, api.emu.assertion(fake)), 403, 7, "API keys")


@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "Bearer not.a.token"])
def test_management_calls_need_a_valid_bearer(api: Api, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    r = api.call("GET", "/v1/serviceAccounts", bearer=None, headers=headers)
    _refused(r)


def test_account_header_is_required_and_must_match(api: Api) -> None:
    _refused(api.call("GET", "/v1/serviceAccounts", account=None), words="X-Skyflow-Account-ID")
    _refused(api.call("GET", "/v1/serviceAccounts", account="c" * 32), words="account")


def test_forged_access_token_is_refused(api: Api) -> None:
    claims = jwt.decode(api.admin_token, options={"verify_signature": False})
    forged = jwt.encode(claims, _other_key(), algorithm="RS256")
    _refused(api.call("GET", "/v1/serviceAccounts", bearer=forged))


def test_deleted_account_tokens_stop_working(api: Api, unique: str) -> None:
    creds = api.create_sa(unique)
    api.assign(api.system_role("ACCOUNT_ADMIN"), creds["clientID"])
    token = api.token_for(creds)
    api.call("GET", "/v1/serviceAccounts", bearer=token, expect=200)
    api.call("DELETE", "/v1/serviceAccounts/{ID}", path={"ID": creds["clientID"]}, expect=200)
    _refused(api.call("GET", "/v1/serviceAccounts", bearer=token))
    _refused(_exchange(api, api.emu.assertion(creds)))
