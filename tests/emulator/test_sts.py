"""The emulator's STS: config CRUD (validated against the spec's contract) and the exchange of
a real OIDC issuer's tokens (tests/helpers/oidc_issuer.py: HTTPS, its own CA, RS256 + ES256)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.oidc_issuer import OidcIssuer

from .conftest import Api

EXCHANGE = "/v1/auth/sts/token"
GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcIssuer]:
    with OidcIssuer() as issuer:
        yield issuer


@pytest.fixture(scope="module")
def sts_api(idp: OidcIssuer) -> Iterator[Api]:
    with EmulatorProcess(extra_args=["--trust-ca", str(idp.ca_path)]) as emu:
        yield Api(emu)


@pytest.fixture(scope="module")
def setup(sts_api: Api, idp: OidcIssuer) -> dict[str, Any]:
    """A keyless-style account that may read service accounts only from acme/identities@main,
    listed in a config trusting the issuer with GitHub's identifying claims."""
    api = sts_api
    sa = api.create_sa("sts-pipeline")["clientID"]
    other = api.create_sa("sts-unlisted")["clientID"]
    role = api.create_role("StsReader", ["serviceAccount.read"],
                           resource=("ACCOUNT", api.emu.account_id))
    api.assign(role, sa, condition="request.context.repository == 'acme/identities' && "
                                   "request.context.ref == 'refs/heads/main'")
    config = api.call("POST", "/v1/sts/config", expect=200, json_body={
        "name": "github", "issuer": idp.url, "publicKeyJWKURI": idp.jwks_uri,
        "serviceAccountIDs": [sa], "contextClaims": ["repository", "ref", "environment",
                                                     "not_in_token"]}).json()["ID"]
    return {"sa": sa, "other": other, "config": config}


def _exchange(api: Api, subject_token: str, sa: str, **over: Any) -> Any:
    body = {"grant_type": GRANT, "subject_token": subject_token, "subject_token_type": JWT_TYPE,
            "service_account_id": sa, **over}
    return api.call("POST", EXCHANGE, json_body=body, bearer=None, account=None)


def _claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_config_crud_follows_the_spec(sts_api: Api, idp: OidcIssuer,
                                      setup: dict[str, Any]) -> None:
    api = sts_api
    got = api.call("GET", "/v1/sts/config/{ID}", path={"ID": setup["config"]}, expect=200).json()
    assert got["issuer"] == idp.url and got["serviceAccountIDs"] == [setup["sa"]]
    assert got["namespace"] and got["accountID"] == api.emu.account_id
    listed = api.call("GET", "/v1/sts/config", params={"name": "github"}, expect=200).json()
    assert [c["ID"] for c in listed["stsConfigs"]] == [setup["config"]]
    made = api.call("POST", "/v1/sts/config", expect=200, json_body={
        "name": "tmp", "issuer": "https://issuer.example"}).json()["ID"]
    upd = api.call("POST", "/v1/sts/config/{ID}", path={"ID": made}, expect=200,
                   json_body={"description": "d", "contextClaims": ["sub"]}).json()
    assert upd["description"] == "d" and upd["contextClaims"] == ["sub"]
    assert upd["issuer"] == "https://issuer.example"  # absent fields are kept
    api.call("DELETE", "/v1/sts/config/{ID}", path={"ID": made}, expect=200)
    api.call("GET", "/v1/sts/config/{ID}", path={"ID": made}, expect=404)
    # refusals: issuer missing or not https, an unknown service account, a taken name
    for body, says in (({"name": "x"}, "issuer: required"),
                       ({"issuer": "http://issuer.example"}, "issuer: must be an https URL"),
                       ({"issuer": idp.url, "serviceAccountIDs": ["nosuch"]},
                        "serviceAccountIDs[0]"),
                       ({"issuer": idp.url, "name": "github"}, "already exists")):
        r = api.call("POST", "/v1/sts/config", json_body=body)
        assert r.status_code in (400, 409) and says in r.json()["error"]["message"]


@pytest.mark.parametrize("kid", ["rs-1", "es-1"])
def test_exchange_rs256_and_es256(sts_api: Api, idp: OidcIssuer, setup: dict[str, Any],
                                  kid: str) -> None:
    subject = idp.mint(kid=kid, lifetime=300)
    r = _exchange(sts_api, subject, setup["sa"])
    assert r.status_code == 200, r.text
    token = r.json()["accessToken"]
    claims = _claims(token)
    assert claims["sub"] == setup["sa"] and claims["auth_mode"] == "STS"
    # ctx = contextClaims found in the subject token; the absent ones dropped silently
    assert claims["context_identifier"] == {"repository": "acme/identities",
                                            "ref": "refs/heads/main"}
    # lifetime capped by the subject token's exp
    assert claims["exp"] <= _claims(subject)["exp"]
    # the account may do what its (conditional) role allows
    sts_api.call("GET", "/v1/serviceAccounts", bearer=token, expect=200)
    entries = [e for e in sts_api.emu.read_request_log()
               if e["operation"] == "AuthenticationService_GetSTSToken" and e["status"] == 200]
    assert entries and entries[-1]["subject"] == setup["sa"]
    # the audit log has the exchange: the keyless account, the ctx it was given, its jti;
    # never the subject token or the token it issued
    audit = sts_api.call("GET", "/v1/audit/events", expect=200, params={
        "filterOps.accountID": sts_api.emu.account_id, "filterOps.context.jwtID": claims["jti"],
        "filterOps.httpURI": EXCHANGE}).json()["event"]
    assert [e["context"]["actor"] for e in audit] == [setup["sa"]]
    assert audit[0]["context"]["bearerTokenContextID"] == json.dumps(
        claims["context_identifier"], sort_keys=True, separators=(",", ":"))
    assert f"SERVICE_ACCOUNT/{setup['sa']}" in audit[0]["resourceIDs"]
    assert subject.split(".")[2] not in json.dumps(audit)
    assert token.split(".")[2] not in json.dumps(audit)


def test_token_of_another_repository_or_branch_can_do_nothing(
        sts_api: Api, idp: OidcIssuer, setup: dict[str, Any]) -> None:
    """The exchange succeeds (STS has no subject restriction), the condition denies."""
    for claims in ({"repository": "mallory/fork"}, {"ref": "refs/heads/feature"}):
        r = _exchange(sts_api, idp.mint(**claims), setup["sa"])
        assert r.status_code == 200
        denied = sts_api.call("GET", "/v1/serviceAccounts", bearer=r.json()["accessToken"])
        assert denied.status_code == 403


def test_refusals(sts_api: Api, idp: OidcIssuer, setup: dict[str, Any]) -> None:
    rogue = idp.add_key("rogue", published=False)
    now = int(time.time())
    cases = [
        (idp.mint(exp=now - 120), setup["sa"], 401, "expired"),
        (idp.mint(nbf_in=600), setup["sa"], 401, "not valid yet"),
        (idp.mint(kid=rogue.kid), setup["sa"], 401, "not in the issuer's JWKS"),
        (idp.mint(iss="https://token.actions.githubusercontent.com"), setup["sa"], 401,
         "No STS config trusts the issuer"),
        (idp.mint(), setup["other"], 403, "not listed in an STS config"),
    ]
    for subject, sa, status, says in cases:
        r = _exchange(sts_api, subject, sa)
        assert r.status_code == status, (says, r.text)
        message = r.json()["error"]["message"]
        assert says in message and subject not in r.text
    r = _exchange(sts_api, idp.mint(), setup["sa"], grant_type="client_credentials")
    assert r.status_code == 400 and "grant_type" in r.json()["error"]["message"]
    r = _exchange(sts_api, idp.mint(), setup["sa"], subject_token_type="urn:x")
    assert r.status_code == 400 and "subject_token_type" in r.json()["error"]["message"]


def test_new_signing_key_is_fetched_on_unknown_kid(sts_api: Api, idp: OidcIssuer,
                                                   setup: dict[str, Any]) -> None:
    """The JWKS is cached; a kid it does not hold makes the emulator fetch it again."""
    assert _exchange(sts_api, idp.mint(), setup["sa"]).status_code == 200
    before = idp.jwks_fetches
    assert _exchange(sts_api, idp.mint(), setup["sa"]).status_code == 200
    assert idp.jwks_fetches == before  # cached
    idp.add_key("rs-2", "RS256")
    deadline = time.monotonic() + 10
    while True:  # an unknown kid refetches at most once a second
        r = _exchange(sts_api, idp.mint(kid="rs-2"), setup["sa"])
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert r.status_code == 200, r.text
    assert idp.jwks_fetches > before
