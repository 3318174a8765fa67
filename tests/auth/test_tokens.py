"""Token signing, options and TokenProvider behaviour, on a scripted local token endpoint.

The scripted server stands in only where exact control is needed (lifetimes, failures); the
same behaviours are checked against the real emulator in test_emulator_integration.py.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from skyflow_provider.auth.credentials import load_credentials
from skyflow_provider.auth.tokens import (
    TokenProvider,
    build_assertion_claims,
    format_scope,
    generate_bearer_token,
    generate_bearer_token_from_creds,
    is_expired,
    token_endpoint,
    token_expiry,
    validate_ctx,
)
from skyflow_provider.http.errors import (
    CredentialsError,
    InvalidArgumentError,
    OptionsError,
    UnauthenticatedError,
)
from tests.fakes import Recorded, ScriptedServer, creds_dict, envelope, issue_token, rsa_key


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def token_server() -> Iterator[ScriptedServer]:
    state: dict[str, Any] = {"lifetime": 3600, "now": None}

    def handler(rec: Recorded) -> tuple[int, dict[str, str], Any]:
        body = rec.json()
        assertion = body["assertion"]
        claims = jwt.decode(assertion, rsa_key().public_key(), algorithms=["RS256"],
                            audience=srv_creds["tokenURI"])
        tok = issue_token(state["lifetime"], sub=claims["sub"], now=state["now"])
        return 200, {}, {"accessToken": tok, "tokenType": "Bearer"}

    srv = ScriptedServer(handler=handler).start()
    srv_creds = creds_dict(token_uri=srv.url + "/v1/auth/sa/oauth/token")
    srv.state = state  # type: ignore[attr-defined]
    srv.creds = srv_creds  # type: ignore[attr-defined]
    yield srv
    srv.stop()


def test_claims_exactly_sdk_set() -> None:
    c = load_credentials(creds_dict())
    claims = build_assertion_claims(c, now=1000.0)
    assert claims == {"iss": c.client_id, "key": c.key_id, "aud": c.token_uri,
                      "sub": c.client_id, "exp": 4600}
    assert build_assertion_claims(c, ctx="user_1", now=0)["ctx"] == "user_1"
    assert build_assertion_claims(c, ctx={"a_1": "x"}, now=0)["ctx"] == {"a_1": "x"}
    assert "ctx" not in build_assertion_claims(c, ctx="  ", now=0)
    assert "ctx" not in build_assertion_claims(c, ctx={}, now=0)
    assert build_assertion_claims(c, token_uri="https://h/x", now=0)["aud"] == "https://h/x"


@pytest.mark.parametrize("ctx", [{"bad-key": 1}, {"with space": 1}, {"": 1}, {1: "x"}, 5, [1],
                                 3.5])
def test_bad_ctx(ctx: Any) -> None:
    with pytest.raises(OptionsError) as info:
        validate_ctx(ctx)
    assert info.value.field == "ctx"


def test_scope_format() -> None:
    assert format_scope(None) is None and format_scope([]) is None
    assert format_scope(["r1", "r2"]) == "role:r1 role:r2"
    assert format_scope("r1") == "role:r1"
    for bad in (["a b"], [""], [None]):
        with pytest.raises(OptionsError):
            format_scope(bad)  # type: ignore[arg-type]


def test_token_endpoint_keeps_scheme_and_host() -> None:
    assert token_endpoint("https://h:8443/v1/auth/sa/oauth/token?x=1") == \
        "https://h:8443/v1/auth/sa/oauth/token"


def test_is_expired() -> None:
    assert is_expired(None) and is_expired("") and is_expired("not-a-jwt")
    assert not is_expired(issue_token(60))
    assert is_expired(issue_token(-1))
    assert is_expired(jwt.encode({"sub": "x"}, "k" * 32, algorithm="HS256"))  # no exp
    t = issue_token(100, now=1000)
    assert token_expiry(t) == 1100 and not is_expired(t, now=1099) and is_expired(t, now=1100)


def test_generate_sdk_shape_and_body(token_server: ScriptedServer, tmp_path: Any) -> None:
    creds = token_server.creds  # type: ignore[attr-defined]
    f = tmp_path / "credentials.json"
    f.write_text(json.dumps(creds))
    tok, typ = generate_bearer_token(str(f))
    assert typ == "Bearer" and not is_expired(tok)
    tok2, _ = generate_bearer_token_from_creds(json.dumps(creds), {"ctx": {"user": "u1"}},
                                               role_ids=["a", "b"])  # keyword convenience
    assert tok2
    first, second = token_server.requests
    assert first.path == "/v1/auth/sa/oauth/token" and first.method == "POST"
    assert first.headers["Content-Type"] == "application/json"
    assert "Authorization" not in first.headers
    b1, b2 = first.json(), second.json()
    assert set(b1) == {"grant_type", "assertion"}
    assert b1["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert b2["scope"] == "role:a role:b"
    claims = jwt.decode(b2["assertion"], options={"verify_signature": False})
    assert claims["ctx"] == {"user": "u1"}
    header = jwt.get_unverified_header(b2["assertion"])
    assert header["alg"] == "RS256"


def test_snake_case_response_accepted() -> None:
    srv = ScriptedServer(replies={"POST /v1/auth/sa/oauth/token": [
        (200, {}, {"access_token": "abc.def.ghi", "token_type": "Bearer"})]}).start()
    try:
        creds = creds_dict(token_uri=srv.url + "/v1/auth/sa/oauth/token")
        assert generate_bearer_token_from_creds(json.dumps(creds)) == ("abc.def.ghi", "Bearer")
    finally:
        srv.stop()


@pytest.mark.parametrize("status,grpc,cls", [(401, 16, UnauthenticatedError),
                                             (400, 3, InvalidArgumentError)])
def test_exchange_refused(status: int, grpc: int, cls: type) -> None:
    srv = ScriptedServer(replies={"POST /v1/auth/sa/oauth/token": [
        (status, {"X-Request-ID": "rid-9"}, envelope(status, "Key expired", grpc))]}).start()
    try:
        creds = creds_dict(token_uri=srv.url + "/v1/auth/sa/oauth/token")
        with pytest.raises(cls) as info:
            generate_bearer_token_from_creds(json.dumps(creds))
        text = str(info.value)
        assert "Key expired" in text and "rid-9" in text and "token exchange" in text
        assert "PRIVATE" not in text and "eyJ" not in text
    finally:
        srv.stop()


def test_unknown_option_rejected() -> None:
    with pytest.raises(OptionsError, match="unknown option"):
        generate_bearer_token_from_creds(json.dumps(creds_dict()), {"roleIDs": ["x"]})
    with pytest.raises(OptionsError):
        generate_bearer_token_from_creds(json.dumps(creds_dict()),
                                         {"token_uri": "http://example.com/t"})


def test_provider_caches_and_refreshes_with_clock(token_server: ScriptedServer) -> None:
    clock = Clock()
    token_server.state["now"] = clock.t  # type: ignore[attr-defined]
    p = TokenProvider(token_server.creds, clock=clock,  # type: ignore[attr-defined]
                      refresh_margin=300)
    t1 = p.get_token()
    for _ in range(5):
        assert p.get_token() == t1
    assert p.exchanges == 1 and len(token_server.requests) == 1
    clock.t += 3600 - 301  # just before the refresh window
    assert p.get_token() == t1 and p.exchanges == 1
    clock.t += 2  # inside the window: refresh
    token_server.state["now"] = clock.t  # type: ignore[attr-defined]
    t2 = p.get_token()
    assert t2 != t1 and p.exchanges == 2
    assert p.authorization_header() == f"Bearer {t2}"


def test_short_lived_tokens_not_refreshed_every_call(token_server: ScriptedServer) -> None:
    clock = Clock()
    token_server.state.update(lifetime=60, now=clock.t)  # type: ignore[attr-defined]
    p = TokenProvider(token_server.creds, clock=clock,  # type: ignore[attr-defined]
                      refresh_margin=300)
    p.get_token()
    clock.t += 20
    p.get_token()
    assert p.exchanges == 1
    clock.t += 15  # past half-life
    p.get_token()
    assert p.exchanges == 2


def test_provider_thread_safe_single_exchange(token_server: ScriptedServer) -> None:
    p = TokenProvider(token_server.creds)  # type: ignore[attr-defined]
    out: list[str] = []
    barrier = threading.Barrier(16)

    def work() -> None:
        barrier.wait()
        out.append(p.get_token())

    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(out)) == 1 and p.exchanges == 1 and len(token_server.requests) == 1


def test_invalidate_only_drops_current(token_server: ScriptedServer) -> None:
    p = TokenProvider(token_server.creds)  # type: ignore[attr-defined]
    t1 = p.get_token()
    assert p.invalidate("some-older-token") is True
    assert p.get_token() == t1 and p.exchanges == 1
    p.invalidate(t1)
    p.get_token()
    assert p.exchanges == 2


def test_api_key_and_bearer_modes() -> None:
    key = "sky-ab12C-0123456789abcdef0123456789abcdef"
    p = TokenProvider(api_key=key)
    assert p.get_token() == key and p.mode == "api_key" and p.invalidate() is False
    tok = issue_token(100)
    p = TokenProvider(bearer_token=tok)
    assert p.authorization_header() == f"Bearer {tok}"
    clock = Clock(token_expiry(tok) + 1)  # type: ignore[operator]
    p = TokenProvider(bearer_token=tok, clock=clock)
    with pytest.raises(UnauthenticatedError, match="expired"):
        p.get_token()
    assert "eyJ" not in repr(p) and key not in repr(TokenProvider(api_key=key))
    with pytest.raises(CredentialsError):
        TokenProvider()
    with pytest.raises(CredentialsError):
        TokenProvider(creds_dict(), api_key=key)
