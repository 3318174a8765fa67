"""Tokens and the Management API client against the real emulator (HTTPS, private CA).

Request counts come from the emulator's own request log (DIR/requests.jsonl).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from skyflow_provider.api.client import ManagementClient
from skyflow_provider.api.settings import ProviderSettings, settings_from_config
from skyflow_provider.auth.tokens import (
    TokenProvider,
    generate_bearer_token,
    generate_bearer_token_from_creds,
    is_expired,
)
from skyflow_provider.http.errors import (
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnauthenticatedError,
)
from tests.conftest import TOKEN_TEMPLATE, count_log
from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.prerequisites import INSTALL_SDK, require_module
from tests.helpers.secrets_scan import assert_no_secret_hits

SA_ITEM = "/v1/serviceAccounts/{ID}"
SA_LIST = "/v1/serviceAccounts"


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def _name() -> str:
    return "sa" + uuid.uuid4().hex[:10]


# --------------------------------------------------------------------------- tokens


def test_token_plain_and_usable(emu: EmulatorProcess, make_client: Callable[...,
                                ManagementClient]) -> None:
    tok, typ = generate_bearer_token(str(emu.admin_credentials_path), ca_bundle=emu.ca_bundle)
    assert typ == "Bearer" and not is_expired(tok)
    c = _claims(tok)
    assert c["sub"] == emu.admin_credentials["clientID"]
    assert "scope" not in c and "context_identifier" not in c
    # the token works for a management call (pre-made bearer token mode)
    s = settings_from_config(lambda _k: None, {"SKYFLOW_ACCOUNT_ID": emu.account_id,
                                               "SKYFLOW_BEARER_TOKEN": tok,
                                               "SKYFLOW_MANAGEMENT_URL": emu.url,
                                               "SKYFLOW_CA_BUNDLE": str(emu.ca_bundle)})
    assert ManagementClient(s).list_roles(emu.vault_id)


@pytest.mark.parametrize("ctx", ["user_42", {"user_id": "u1", "region": "eu"}])
def test_token_with_ctx(emu: EmulatorProcess, ctx: Any) -> None:
    tok, _ = generate_bearer_token_from_creds(emu.admin_credentials_path.read_text(),
                                              {"ctx": ctx}, ca_bundle=emu.ca_bundle)
    assert _claims(tok)["context_identifier"] == ctx


def test_scoped_token(emu: EmulatorProcess, make_client: Callable[..., ManagementClient]) -> None:
    admin_id = emu.admin_credentials["clientID"]
    roles = make_client().list_member_roles(admin_id)
    role_ids = [r["role"]["ID"] for r in roles]
    assert role_ids
    tok, _ = generate_bearer_token(emu.admin_credentials_path, {"role_ids": role_ids[:1]},
                                   ca_bundle=emu.ca_bundle)
    assert _claims(tok)["scope"] == f"role:{role_ids[0]}"
    # a role the SA does not hold is refused by the emulator: 400 with Skyflow's message
    with pytest.raises(InvalidArgumentError) as info:
        generate_bearer_token(emu.admin_credentials_path, {"role_ids": ["nope" * 8]},
                              ca_bundle=emu.ca_bundle)
    assert "token exchange" in str(info.value) and info.value.request_id


def test_cache_hit_makes_no_http_call(emu: EmulatorProcess) -> None:
    p = TokenProvider(emu.admin_credentials, ca_bundle=emu.ca_bundle)
    before = len(emu.read_request_log())
    t1 = p.get_token()
    mid = len(emu.read_request_log())
    assert mid - before == 1
    for _ in range(20):
        assert p.get_token() == t1
    assert len(emu.read_request_log()) == mid  # not a single extra request
    assert p.exchanges == 1


def test_refresh_before_expiry_with_injected_clock(emu: EmulatorProcess) -> None:
    now = [time.time()]
    p = TokenProvider(emu.admin_credentials, ca_bundle=emu.ca_bundle, clock=lambda: now[0],
                      refresh_margin=120)
    since = len(emu.read_request_log())
    t1 = p.get_token()
    exp = p.expires_at
    assert exp is not None and exp == _claims(t1)["exp"]
    now[0] = exp - 121  # just outside the refresh window: cached
    assert p.get_token() == t1
    assert count_log(emu, template=TOKEN_TEMPLATE, since=since) == 1
    time.sleep(1.1)  # the emulator's iat has second resolution; make the new token differ
    now[0] = exp - 119  # inside the window: one new exchange, before exp
    t2 = p.get_token()
    assert t2 != t1 and p.exchanges == 2
    assert count_log(emu, template=TOKEN_TEMPLATE, since=since) == 2
    now[0] = time.time()
    assert p.get_token() == t2
    assert count_log(emu, template=TOKEN_TEMPLATE, since=since) == 2


def test_one_exchange_for_many_calls(emu: EmulatorProcess,
                                     make_client: Callable[..., ManagementClient]) -> None:
    client = make_client()
    since = len(emu.read_request_log())
    for _ in range(5):
        client.list_roles(emu.vault_id)
    assert count_log(emu, template=TOKEN_TEMPLATE, since=since) == 1
    assert count_log(emu, template="/v1/roles", since=since) == 5


def test_sdk_token_accepted_and_sdk_accepts_emulator(emu: EmulatorProcess,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    sdk = require_module("skyflow.service_account", INSTALL_SDK)
    monkeypatch.setenv("SSL_CERT_FILE", str(emu.ca_bundle))
    sdk_tok, _ = sdk.generate_bearer_token(str(emu.admin_credentials_path), {"ctx": "abc"})
    our_tok, _ = generate_bearer_token(emu.admin_credentials_path, {"ctx": "abc"},
                                       ca_bundle=emu.ca_bundle)
    a, b = _claims(sdk_tok), _claims(our_tok)
    for k in ("iss", "aud", "sub", "key", "account_id", "auth_mode", "context_identifier"):
        assert a.get(k) == b.get(k)
    assert sdk.is_expired(our_tok) is False


def test_tls_needs_the_ca(emu: EmulatorProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("SKYFLOW_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with pytest.raises(TransportError) as info:
        generate_bearer_token(emu.admin_credentials_path)
    assert "caBundle" in str(info.value) and "TLS" in str(info.value)
    # the standard REQUESTS_CA_BUNDLE works too
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(emu.ca_bundle))
    tok, _ = generate_bearer_token(emu.admin_credentials_path)
    assert tok
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.setenv("SKYFLOW_CA_BUNDLE", str(emu.ca_bundle))
    tok, _ = generate_bearer_token(emu.admin_credentials_path, role_ids=None, ctx="k")
    assert _claims(tok)["context_identifier"] == "k"


def test_deleted_sa_credentials_refused(emu: EmulatorProcess,
                                        make_client: Callable[..., ManagementClient]) -> None:
    client = make_client()
    sa = client.create_service_account({"serviceAccount": {"name": _name()}})
    creds = json.dumps({k: sa[k] for k in ("clientID", "clientName", "tokenURI", "keyID",
                                           "privateKey", "keyValidAfterTime",
                                           "keyValidBeforeTime", "keyAlgorithm")})
    tok, _ = generate_bearer_token_from_creds(creds, ca_bundle=emu.ca_bundle)
    assert tok
    client.delete_service_account(sa["clientID"])
    with pytest.raises(UnauthenticatedError) as info:
        generate_bearer_token_from_creds(creds, ca_bundle=emu.ca_bundle)
    text = str(info.value)
    assert "HTTP 401" in text and "rotate" in text
    assert sa["privateKey"].splitlines()[1] not in text


# --------------------------------------------------------------------------- client


def test_client_crud_and_errors(emu: EmulatorProcess,
                                make_client: Callable[..., ManagementClient]) -> None:
    client = make_client()
    name = _name()
    created = client.create_service_account({"serviceAccount": {"name": name,
                                                                "displayName": "D"}})
    sa_id = created["clientID"]
    assert created["privateKey"].startswith("-----BEGIN")
    got = client.get_service_account(sa_id)
    assert got["serviceAccount"]["name"] == name
    client.update_service_account(sa_id, {"serviceAccount": {"displayName": "E"}})
    assert client.get_service_account(sa_id)["serviceAccount"]["displayName"] == "E"
    assert any(s["serviceAccount"]["ID"] == sa_id for s in client.list_service_accounts())
    keys = client.list_keys(sa_id)
    assert [k["keyID"] for k in keys] == [created["keyID"]]
    role = {"roleDefinition": {"name": "R" + uuid.uuid4().hex[:8], "permissions": []},
            "resource": {"ID": emu.vault_id, "type": "VAULT"}}
    role_id = client.create_role(role)["ID"]
    try:
        with pytest.raises(ConflictError) as conflict:
            client.create_role(role)  # role names are unique
        assert conflict.value.status == 409 and "pulumi import" in str(conflict.value)
    finally:
        client.delete_role(role_id)
    client.delete_service_account(sa_id)
    with pytest.raises(NotFoundError) as info:
        client.get_service_account(sa_id)
    err = info.value
    assert err.status == 404 and err.grpc_code == 5 and err.request_id
    assert err.operation == "read service account" and err.target == sa_id
    for part in (sa_id, "Skyflow said:", "request id", "pulumi refresh"):
        assert part in str(err)


def test_permission_denied_for_unprivileged_sa(emu: EmulatorProcess,
                                               make_client: Callable[..., ManagementClient],
                                               emu_settings: ProviderSettings) -> None:
    admin = make_client()
    sa = admin.create_service_account({"serviceAccount": {"name": _name()}})
    try:
        creds = {k: v for k, v in sa.items() if k not in ("apiKeyID", "apiKey")}
        s = settings_from_config(lambda _k: None, {
            "SKYFLOW_ACCOUNT_ID": emu.account_id, "SKYFLOW_CREDENTIALS": json.dumps(creds),
            "SKYFLOW_CA_BUNDLE": str(emu.ca_bundle)})
        weak = ManagementClient(s)
        with pytest.raises(PermissionDeniedError) as info:
            weak.create_service_account({"serviceAccount": {"name": _name()}})
        assert info.value.status == 403 and "role" in str(info.value)
    finally:
        admin.delete_service_account(sa["clientID"])


def test_api_key_mode(emu: EmulatorProcess, make_client: Callable[..., ManagementClient]) -> None:
    admin = make_client()
    sa = admin.create_service_account({"serviceAccount": {"name": _name()},
                                       "apiKeyEnabled": True})
    try:
        assert sa["apiKey"].startswith("sky-")
        s = settings_from_config(lambda _k: None, {
            "SKYFLOW_ACCOUNT_ID": emu.account_id, "SKYFLOW_API_KEY": sa["apiKey"],
            "SKYFLOW_MANAGEMENT_URL": emu.url, "SKYFLOW_CA_BUNDLE": str(emu.ca_bundle)})
        c = ManagementClient(s)
        assert c.tokens.mode == "api_key"
        assert "account_id" in repr(c) and sa["apiKey"] not in repr(c)
        # an API-key SA without roles is authenticated but not authorized
        with pytest.raises(PermissionDeniedError):
            c.list_service_accounts()
    finally:
        admin.delete_service_account(sa["clientID"])


def test_bad_bearer_token_is_unauthenticated(emu: EmulatorProcess) -> None:
    fake = jwt.encode({"sub": "x", "exp": int(time.time()) + 600}, "k" * 32, algorithm="HS256")
    s = settings_from_config(lambda _k: None, {
        "SKYFLOW_ACCOUNT_ID": emu.account_id, "SKYFLOW_BEARER_TOKEN": fake,
        "SKYFLOW_MANAGEMENT_URL": emu.url, "SKYFLOW_CA_BUNDLE": str(emu.ca_bundle)})
    with pytest.raises(UnauthenticatedError) as info:
        ManagementClient(s).list_roles(emu.vault_id)
    assert fake not in str(info.value) and fake not in repr(info.value)


def test_paginate_offset_limit(emu: EmulatorProcess,
                               make_client: Callable[..., ManagementClient]) -> None:
    client = make_client()
    ids = [client.create_service_account({"serviceAccount": {"name": _name()}})["clientID"]
           for _ in range(5)]
    try:
        everything = client.list_service_accounts()
        since = len(emu.read_request_log())
        paged = client.paginate(SA_LIST, "serviceAccounts", {}, limit=2)
        n = len(everything)
        assert [s["serviceAccount"]["ID"] for s in paged] == \
            [s["serviceAccount"]["ID"] for s in everything]
        assert count_log(emu, template=SA_LIST, since=since) == n // 2 + 1
        assert set(ids) <= {s["serviceAccount"]["ID"] for s in paged}
    finally:
        for i in ids:
            client.delete_service_account(i)


def test_debug_logs_are_redacted(emu: EmulatorProcess, caplog: pytest.LogCaptureFixture,
                                 make_client: Callable[..., ManagementClient]) -> None:
    caplog.set_level(logging.DEBUG, logger="skyflow_provider")
    client = make_client()
    sa = client.create_service_account({"serviceAccount": {"name": _name()}})
    client.delete_service_account(sa["clientID"])
    text = caplog.text
    assert "POST" in text and "/v1/serviceAccounts" in text and "[REDACTED]" in text
    assert_no_secret_hits({"created key": sa["privateKey"], "token": client.tokens.get_token(),
                           "admin key": emu.admin_credentials["privateKey"]},
                          min_secrets=3, texts={"debug log": text})
    assert "BEGIN PRIVATE KEY" not in text
    assert "eyJ" not in text


# --------------------------------------------------------------------------- retries


def test_429_retried_until_exhausted_honouring_retry_after(
        emu: EmulatorProcess, make_client: Callable[..., ManagementClient]) -> None:
    client = make_client(retry_total=2, rate_limit_rounds=0)  # one urllib3 round
    client.tokens.get_token()  # exchange first: the token endpoint is faulted too
    emu.set_faults(rate_429=1.0, retry_after=1)
    since = len(emu.read_request_log())
    started = time.monotonic()
    with pytest.raises(RateLimitedError) as info:
        client.list_roles(emu.vault_id)
    elapsed = time.monotonic() - started
    assert count_log(emu, template="/v1/roles", since=since, status=429) == 3
    assert info.value.attempts == 3 and "after 3 attempts" in str(info.value)
    assert elapsed >= 2.0  # two waits of Retry-After: 1


def test_429_on_post_is_retried(emu: EmulatorProcess,
                                make_client: Callable[..., ManagementClient]) -> None:
    client = make_client(retry_total=2, rate_limit_rounds=0)  # one urllib3 round
    client.tokens.get_token()
    emu.set_faults(rate_429=1.0, retry_after=0)
    since = len(emu.read_request_log())
    with pytest.raises(RateLimitedError):
        client.create_service_account({"serviceAccount": {"name": _name()}})
    # the server refused without processing: safe to retry a create
    assert count_log(emu, method="POST", template=SA_LIST, since=since, status=429) == 3


def test_503_retried_for_get_then_succeeds(emu: EmulatorProcess,
                                           make_client: Callable[..., ManagementClient]) -> None:
    client = make_client(retry_total=8)
    client.tokens.get_token()
    # A seeded 40% failure rate: a deterministic sequence with some 503s among the 200s.
    emu.set_faults(rate_503=0.4, seed=1)  # draws: 0.13 (503), 0.85, 0.76, 0.26 (503)
    since = len(emu.read_request_log())
    for _ in range(4):
        assert client.list_roles(emu.vault_id)
    failed = count_log(emu, template="/v1/roles", since=since, status=503)
    ok = count_log(emu, template="/v1/roles", since=since, status=200)
    assert ok == 4 and failed == 2


def test_503_on_post_not_retried(emu: EmulatorProcess,
                                 make_client: Callable[..., ManagementClient]) -> None:
    client = make_client(retry_total=3)
    client.tokens.get_token()
    emu.set_faults(rate_503=1.0)
    since = len(emu.read_request_log())
    with pytest.raises(ServerError) as info:
        client.create_service_account({"serviceAccount": {"name": _name()}})
    assert count_log(emu, method="POST", template=SA_LIST, since=since) == 1
    assert info.value.status == 503 and info.value.attempts == 1


def test_503_on_rotate_not_retried(emu: EmulatorProcess,
                                   make_client: Callable[..., ManagementClient]) -> None:
    client = make_client(retry_total=3)
    sa = client.create_service_account({"serviceAccount": {"name": _name()}})
    try:
        emu.set_faults(rate_503=1.0)
        since = len(emu.read_request_log())
        with pytest.raises(ServerError):
            client.rotate_key(sa["clientID"], sa["keyID"])
        assert count_log(emu, method="PUT", since=since) == 1
        since = len(emu.read_request_log())
        with pytest.raises(ServerError):
            client.delete_key(sa["clientID"], sa["keyID"])  # idempotent: retried
        assert count_log(emu, method="DELETE", since=since) == 4
    finally:
        emu.clear_faults()
        client.delete_service_account(sa["clientID"])


def test_lost_response_on_create_is_not_retried(
        emu: EmulatorProcess, make_client: Callable[..., ManagementClient]) -> None:
    client = make_client(retry_total=3)
    client.tokens.get_token()
    name = _name()
    emu.set_faults(rate_drop=1.0)
    since = len(emu.read_request_log())
    with pytest.raises(TransportError) as info:
        client.create_service_account({"serviceAccount": {"name": name}})
    assert count_log(emu, method="POST", template=SA_LIST, since=since) == 1
    assert "may or may not have been applied" in str(info.value)
    emu.clear_faults()
    found = client.list_service_accounts(name=name)
    assert len(found) == 1  # committed exactly once
    client.delete_service_account(found[0]["serviceAccount"]["ID"])


def test_token_exchange_retried_on_429(emu: EmulatorProcess) -> None:
    emu.set_faults(rate_429=0.5, retry_after=0, seed=3)  # draws 0.24, 0.54, 0.37, 0.60, ...
    since = len(emu.read_request_log())
    for _ in range(3):
        tok, _ = generate_bearer_token(emu.admin_credentials_path, ca_bundle=emu.ca_bundle)
        assert tok
    assert count_log(emu, template=TOKEN_TEMPLATE, since=since, status=200) == 3
    assert count_log(emu, template=TOKEN_TEMPLATE, since=since, status=429) == 2


def test_threads_share_one_exchange(emu: EmulatorProcess,
                                    make_client: Callable[..., ManagementClient]) -> None:
    import threading

    client = make_client()
    since = len(emu.read_request_log())
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work() -> None:
        try:
            barrier.wait()
            for _ in range(5):
                client.list_roles(emu.vault_id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert count_log(emu, template=TOKEN_TEMPLATE, since=since) == 1
    assert count_log(emu, template="/v1/roles", since=since, status=200) == 40


def test_plain_http_to_loopback_emulator(tmp_path: Any) -> None:
    with EmulatorProcess(tmp_path / "http-emu", insecure_http=True) as plain:
        assert plain.url.startswith("http://127.0.0.1:")
        s = settings_from_config(lambda _k: None, {
            "SKYFLOW_ACCOUNT_ID": plain.account_id,
            "SKYFLOW_CREDENTIALS_FILE": str(plain.admin_credentials_path)})
        assert s.management_url == plain.url
        assert ManagementClient(s).list_roles(plain.vault_id)
