"""Client behaviour needing exact server replies (scripted loopback server, unit level only):
401 re-exchange, envelope variants, Retry-After caps, id quoting, pickling, threads."""

from __future__ import annotations

import pickle
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from skyflow_provider.api.client import ManagementClient
from skyflow_provider.api.settings import ProviderSettings, settings_from_config
from skyflow_provider.http.errors import (
    ConfigError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    SkyflowError,
    UnauthenticatedError,
)
from skyflow_provider.http.transport import make_retry
from tests.fakes import ScriptedServer, creds_dict, envelope, issue_token

API_KEY = "sky-ab12C-0123456789abcdef0123456789abcdef"


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    srv = ScriptedServer().start()
    srv.replies["POST /v1/auth/sa/oauth/token"] = [
        (200, {}, {"accessToken": issue_token(3600), "tokenType": "Bearer"})]
    yield srv
    srv.stop()


def _settings(srv: ScriptedServer, **extra: str) -> ProviderSettings:
    env = {"SKYFLOW_ACCOUNT_ID": "acc1", "SKYFLOW_MANAGEMENT_URL": srv.url, **extra}
    if not any(k in extra for k in ("SKYFLOW_API_KEY", "SKYFLOW_BEARER_TOKEN")):
        import json

        env["SKYFLOW_CREDENTIALS"] = json.dumps(
            creds_dict(token_uri=srv.url + "/v1/auth/sa/oauth/token"))
    return settings_from_config(lambda _k: None, env)


def test_headers_and_body(server: ScriptedServer) -> None:
    server.replies["POST /v1/roles/assign"] = [(200, {}, {"ID": "r1"})]
    c = ManagementClient(_settings(server))
    assert c.assign_role("r1", [{"ID": "sa1", "type": "SERVICE_ACCOUNT"}], "true") == {"ID": "r1"}
    rec = server.requests[-1]
    assert rec.headers["Authorization"].startswith("Bearer ey")
    assert rec.headers["X-Skyflow-Account-ID"] == "acc1"
    assert rec.headers["Content-Type"] == "application/json"
    assert rec.json() == {"ID": "r1", "members": [{"ID": "sa1", "type": "SERVICE_ACCOUNT"}],
                          "condition": "true"}


def test_401_triggers_one_reexchange(server: ScriptedServer) -> None:
    server.replies["GET /v1/roles/x"] = [(401, {}, envelope(401, "token revoked", 16)),
                                         (200, {}, {"role": {"ID": "x"}})]
    c = ManagementClient(_settings(server))
    assert c.get_role("x") == {"role": {"ID": "x"}}
    assert server.count("POST", "/v1/auth/sa/oauth/token") == 2
    assert c.tokens.exchanges == 2
    # a persistent 401 is raised after the single re-exchange
    server.replies["GET /v1/roles/y"] = [(401, {}, envelope(401, "Key expired", 16))]
    with pytest.raises(UnauthenticatedError, match="Key expired"):
        c.get_role("y")
    assert server.count("GET", "/v1/roles/y") == 2


def test_401_with_api_key_not_retried(server: ScriptedServer) -> None:
    server.replies["GET /v1/roles/x"] = [(401, {}, envelope(401, "bad key", 16))]
    c = ManagementClient(_settings(server, SKYFLOW_API_KEY=API_KEY))
    with pytest.raises(UnauthenticatedError) as info:
        c.get_role("x")
    assert server.count("GET", "/v1/roles/x") == 1
    assert API_KEY not in str(info.value)
    assert server.requests[-1].headers["Authorization"] == f"Bearer {API_KEY}"


@pytest.mark.parametrize("body,message,grpc", [
    ({"error": {"grpc_code": 5, "http_code": 404, "message": "gone"}}, "gone", 5),
    ({"code": 5, "message": "rpc style", "details": []}, "rpc style", 5),
    (b"<html>nginx 404</html>", "nginx 404", None),
    ({}, None, None),
])
def test_envelope_variants(server: ScriptedServer, body: Any, message: str | None,
                           grpc: int | None) -> None:
    server.replies["GET /v1/policies/p"] = [(404, {"X-Request-ID": "rq-1"}, body)]
    c = ManagementClient(_settings(server, SKYFLOW_BEARER_TOKEN=issue_token()))
    with pytest.raises(NotFoundError) as info:
        c.get_policy("p")
    err = info.value
    assert err.grpc_code == grpc and err.request_id == "rq-1"
    if message:
        assert message in str(err)


def test_retry_after_honoured_and_capped(server: ScriptedServer) -> None:
    server.replies["GET /v1/roles/x"] = [(429, {"Retry-After": "1"}, envelope(429, "slow", 8)),
                                         (200, {}, {"role": {}})]
    c = ManagementClient(_settings(server, SKYFLOW_BEARER_TOKEN=issue_token()))
    t = time.monotonic()
    c.get_role("x")
    assert time.monotonic() - t >= 0.95
    assert make_retry(idempotent=True).retry_after_max == 60


def test_retries_exhausted_report_attempts(server: ScriptedServer) -> None:
    server.replies["GET /v1/roles/x"] = [(503, {}, envelope(503, "down", 14))]
    c = ManagementClient(_settings(server, SKYFLOW_BEARER_TOKEN=issue_token()),
                         retry_total=2, backoff_factor=0.01, rate_limit_rounds=0)
    with pytest.raises(ServerError) as info:
        c.get_role("x")
    assert server.count("GET", "/v1/roles/x") == 3 and info.value.attempts == 3
    server.replies["PATCH /v1/roles/x"] = [(429, {}, envelope(429, "slow", 8))]
    with pytest.raises(RateLimitedError):
        c.update_role("x", {"roleDefinition": {}})
    assert server.count("PATCH", "/v1/roles/x") == 3


def test_patch_is_retried_on_503_only_when_marked_idempotent(server: ScriptedServer) -> None:
    server.replies["PATCH /v1/x"] = [(503, {}, envelope(503, "down", 14))]
    c = ManagementClient(_settings(server, SKYFLOW_BEARER_TOKEN=issue_token()),
                         retry_total=2, backoff_factor=0.01)
    with pytest.raises(ServerError):
        c.request("PATCH", "/v1/x", json={})
    assert server.count("PATCH", "/v1/x") == 1
    with pytest.raises(ServerError):
        c.request("PATCH", "/v1/x", json={}, idempotent=True)
    assert server.count("PATCH", "/v1/x") == 4


def test_ids_are_quoted_as_one_segment(server: ScriptedServer) -> None:
    c = ManagementClient(_settings(server, SKYFLOW_BEARER_TOKEN=issue_token()))
    with pytest.raises(SkyflowError):
        c.get_service_account("../roles/x?y=1")
    assert server.requests[-1].path == "/v1/serviceAccounts/..%2Froles%2Fx%3Fy%3D1"


def test_paginate_strings_and_short_page(server: ScriptedServer) -> None:
    pages = [{"members": [{"ID": str(i)} for i in range(3)]},
             {"members": [{"ID": str(i)} for i in range(3, 6)]},
             {"members": [{"ID": "6"}]}]
    server.handler = lambda rec: (200, {}, pages.pop(0))
    c = ManagementClient(_settings(server, SKYFLOW_BEARER_TOKEN=issue_token()))
    items = c.paginate("/v1/roles/r/members", "members", limit=3)
    assert [i["ID"] for i in items] == [str(i) for i in range(7)]
    paths = [r.path for r in server.requests]
    assert paths == ["/v1/roles/r/members?offset=0&limit=3",
                     "/v1/roles/r/members?offset=3&limit=3",
                     "/v1/roles/r/members?offset=6&limit=3"]


def test_list_keys_sends_both_key_types(server: ScriptedServer) -> None:
    server.handler = lambda rec: (200, {}, {"keys": [{"keyID": "k"}]})
    c = ManagementClient(_settings(server, SKYFLOW_BEARER_TOKEN=issue_token()))
    assert c.list_keys("sa") == [{"keyID": "k"}]
    assert server.requests[-1].path.endswith("keyTypes=USER_MANAGED&keyTypes=SYSTEM_MANAGED")


def test_client_not_picklable_and_repr_safe(server: ScriptedServer) -> None:
    c = ManagementClient(_settings(server))
    with pytest.raises(TypeError, match="must not be pickled"):
        pickle.dumps(c)
    with pytest.raises(TypeError):
        pickle.dumps(c.tokens)
    assert "PRIVATE" not in repr(c) and "eyJ" not in repr(c)


def test_http_to_remote_host_refused() -> None:
    s = ProviderSettings(account_id="a", management_url="http://manage.skyflowapis.com",
                         api_key=API_KEY)
    with pytest.raises(ConfigError, match="only https"):
        ManagementClient(s)


def test_one_pool_serves_every_thread_on_kept_connections(server: ScriptedServer) -> None:
    server.handler = lambda rec: (200, {}, {"roles": []})
    c = ManagementClient(_settings(server, SKYFLOW_BEARER_TOKEN=issue_token()))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                assert c.list_roles("v") == []
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(server.requests) == 20
    assert len(c._pool.direct._idle) == 1  # one host, one pool, shared by the four threads
    assert 1 <= c._pool.direct.opened <= 4  # at most one connection per thread, kept alive




def test_redirects_are_not_followed(server: ScriptedServer) -> None:
    server.replies["GET /v1/roles/x"] = [(302, {"Location": "https://elsewhere.example/"}, {})]
    c = ManagementClient(_settings(server, SKYFLOW_BEARER_TOKEN=issue_token()))
    with pytest.raises(SkyflowError) as info:
        c.get_role("x")
    assert info.value.status == 302
    assert server.count("GET", "/v1/roles/x") == 1
