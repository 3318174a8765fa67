"""The WSGI app without a network: sessions, roles, body rules, CORS, rate limits, errors, logs.

A counting minter stands in for Skyflow; sessions are real JWTs verified against a JWKS file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from werkzeug.test import Client, TestResponse

from skyflow_provider.http.errors import ServerError
from skyflow_provider.vending import (
    CorsPolicy,
    JwtSessionVerifier,
    Rate,
    RateLimiter,
    RoleCatalog,
    TokenVendor,
    VendingApp,
    VendingConfig,
    normalize_origin,
)

from .fakes import CountingMinter, FakeClock, SessionIssuer

ORIGIN = "https://shop.example.test"


@pytest.fixture(scope="module")
def issuer() -> SessionIssuer:
    return SessionIssuer()


@pytest.fixture
def minter() -> CountingMinter:
    return CountingMinter(FakeClock())


def make_app(tmp_path: Path, issuer: SessionIssuer, minter: CountingMinter, *,
             roles: dict[str, str] | None = None, rate: str | None = None,
             ip_rate: str | None = None, ctx_claim: str = "sub") -> VendingApp:
    jwks = issuer.write_jwks(tmp_path / "jwks.json")
    verifier = JwtSessionVerifier(str(jwks), issuer=issuer.issuer, audience=issuer.audience,
                                  ctx_claim=ctx_claim)
    config = VendingConfig(
        roles=RoleCatalog(roles or {"viewer": "roleviewer1", "editor": "roleeditor1"}),
        cors=CorsPolicy([ORIGIN]),
        identity_limit=RateLimiter(Rate.parse(rate)) if rate else None,
        address_limit=RateLimiter(Rate.parse(ip_rate)) if ip_rate else None,
    )
    return VendingApp(TokenVendor(minter=minter, clock=minter.clock), verifier, config)


def post(client: Client, session: str | None, body: Any = None, **kw: Any) -> TestResponse:
    headers = dict(kw.pop("headers", {}))
    if session is not None:
        headers["Authorization"] = f"Bearer {session}"
    if body is not None and not isinstance(body, bytes | str):
        kw["json"] = body
    elif body is not None:
        kw["data"] = body
    return client.post("/v1/token", headers=headers, **kw)


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """Hand-made HS256 JWT (PyJWT refuses to build this classic key-confusion forgery)."""
    signing = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    sig = hmac.new(secret, signing.encode(), hashlib.sha256).digest()
    return signing + "." + _b64(sig)


def test_token_for_a_session(tmp_path: Path, issuer: SessionIssuer,
                             minter: CountingMinter) -> None:
    c = Client(make_app(tmp_path, issuer, minter))
    r = post(c, issuer.session("alice"), {"role": "viewer"})
    assert r.status_code == 200, r.text
    data = r.get_json()
    assert set(data) == {"accessToken", "tokenType", "expiresAt"}
    assert data["tokenType"] == "Bearer" and data["expiresAt"].endswith("Z")
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Content-Type"] == "application/json"
    c_ = claims_of(data["accessToken"])
    assert c_["context_identifier"] == "alice" and c_["scope"] == "role:roleviewer1"
    # same user and role again: cached; another user: a new exchange
    assert post(c, issuer.session("alice"), {"role": "viewer"}).get_json() == data
    assert minter.count == 1
    post(c, issuer.session("bob"), {"role": "viewer"})
    assert minter.calls[-1] == (("roleviewer1",), "bob") and minter.count == 2


def test_health(tmp_path: Path, issuer: SessionIssuer, minter: CountingMinter) -> None:
    c = Client(make_app(tmp_path, issuer, minter))
    r = c.get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}
    assert c.get("/nope").status_code == 404
    r = c.get("/v1/token")
    assert r.status_code == 405 and r.headers["Allow"] == "POST, OPTIONS"


@pytest.mark.parametrize("case", ["none", "basic", "garbage", "wrong_key", "wrong_aud",
                                  "wrong_iss", "expired", "alg_none", "hs256_confusion",
                                  "unknown_kid", "no_exp"])
def test_bad_sessions_are_401(tmp_path: Path, issuer: SessionIssuer, minter: CountingMinter,
                              case: str) -> None:
    c = Client(make_app(tmp_path, issuer, minter))
    other = SessionIssuer()
    headers: dict[str, str] = {}
    session: str | None
    if case == "none":
        session = None
    elif case == "basic":
        session, headers = None, {"Authorization": "Basic " + base64.b64encode(b"a:b").decode()}
    elif case == "garbage":
        session = "not-a-jwt"
    elif case == "wrong_key":  # same kid, another key: a forgery
        session = other.session("alice", kid=issuer.kid)
    elif case == "wrong_aud":
        session = issuer.session("alice", aud="another-service")
    elif case == "wrong_iss":
        session = issuer.session("alice", iss="https://evil.example.test/")
    elif case == "expired":
        session = issuer.session("alice", exp_in=-120)
    elif case == "alg_none":
        session = jwt.encode({"sub": "alice", "iss": issuer.issuer, "aud": issuer.audience,
                              "exp": 2**31 - 1}, None, algorithm="none",
                             headers={"kid": issuer.kid})
    elif case == "hs256_confusion":  # the public key used as an HMAC secret
        session = _hs256({"alg": "HS256", "typ": "JWT", "kid": issuer.kid},
                         {"sub": "alice", "iss": issuer.issuer, "aud": issuer.audience,
                          "exp": 2**31 - 1}, json.dumps(issuer.jwk()).encode())
    elif case == "unknown_kid":
        session = issuer.session("alice", kid="nope")
    else:
        session = jwt.encode({"sub": "alice", "iss": issuer.issuer, "aud": issuer.audience},
                             issuer.key, algorithm="RS256", headers={"kid": issuer.kid})
    r = post(c, session, {"role": "viewer"}, headers=headers)
    assert r.status_code == 401, (case, r.text)
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert set(r.get_json()) == {"error"} and r.get_json()["error"]["message"]
    assert minter.count == 0


def test_roles(tmp_path: Path, issuer: SessionIssuer, minter: CountingMinter) -> None:
    c = Client(make_app(tmp_path, issuer, minter))
    s = issuer.session("alice")
    assert post(c, s, {"role": "admin"}).status_code == 403
    assert post(c, s).status_code == 400  # several roles and none named
    assert post(c, s, {}).status_code == 400
    assert post(c, s, {"role": "editor"}).status_code == 200
    single = Client(make_app(tmp_path, issuer, minter, roles={"only": "roleonly1"}))
    r = post(single, s)
    assert r.status_code == 200
    assert claims_of(r.get_json()["accessToken"])["scope"] == "role:roleonly1"
    assert post(single, s, {"role": "other"}).status_code == 403


@pytest.mark.parametrize("body,ctype,status", [
    ({"role": "viewer", "ctx": "bob"}, None, 400),   # ctx never from the body
    ({"role": 5}, None, 400),
    (["viewer"], None, 400),
    (b"{not json", "application/json", 400),
    (b'{"role": "viewer"}', "text/plain", 415),
    (b"x" * 5000, "application/json", 413),
])
def test_body_rules(tmp_path: Path, issuer: SessionIssuer, minter: CountingMinter, body: Any,
                    ctype: str | None, status: int) -> None:
    c = Client(make_app(tmp_path, issuer, minter))
    headers = {"Content-Type": ctype} if ctype else {}
    r = post(c, issuer.session("alice"), body, headers=headers)
    assert r.status_code == status, r.text
    assert minter.count == 0


def test_ctx_from_another_claim(tmp_path: Path, issuer: SessionIssuer,
                                minter: CountingMinter) -> None:
    c = Client(make_app(tmp_path, issuer, minter, ctx_claim="user_id"))
    r = post(c, issuer.session("alice", user_id="u-42"), {"role": "viewer"})
    assert claims_of(r.get_json()["accessToken"])["context_identifier"] == "u-42"
    assert post(c, issuer.session("alice"), {"role": "viewer"}).status_code == 401  # no claim


def test_ec_sessions(tmp_path: Path, minter: CountingMinter) -> None:
    ec = SessionIssuer(kind="ec")
    c = Client(make_app(tmp_path, ec, minter))
    assert post(c, ec.session("alice"), {"role": "viewer"}).status_code == 200


def test_hmac_jwks_refused(tmp_path: Path) -> None:
    p = tmp_path / "jwks.json"
    p.write_text(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0c2VjcmV0", "kid": "x"}]}))
    with pytest.raises(ValueError, match="asymmetric"):
        JwtSessionVerifier(str(p), issuer="i", audience="a")
    with pytest.raises(ValueError):
        JwtSessionVerifier(str(p), issuer="", audience="a")


def test_identity_rate_limit(tmp_path: Path, issuer: SessionIssuer,
                             minter: CountingMinter) -> None:
    c = Client(make_app(tmp_path, issuer, minter, rate="3/min"))
    s = issuer.session("alice")
    assert [post(c, s, {"role": "viewer"}).status_code for _ in range(3)] == [200] * 3
    r = post(c, s, {"role": "viewer"})
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 20
    assert post(c, issuer.session("bob"), {"role": "viewer"}).status_code == 200


def test_address_rate_limit_counts_failed_sessions(tmp_path: Path, issuer: SessionIssuer,
                                                   minter: CountingMinter) -> None:
    c = Client(make_app(tmp_path, issuer, minter, ip_rate="2/min"))
    assert post(c, "forged").status_code == 401
    assert post(c, "forged").status_code == 401
    r = post(c, issuer.session("alice"), {"role": "viewer"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1


def test_cors(tmp_path: Path, issuer: SessionIssuer, minter: CountingMinter) -> None:
    c = Client(make_app(tmp_path, issuer, minter))
    s = issuer.session("alice")
    ok = post(c, s, {"role": "viewer"}, headers={"Origin": ORIGIN})
    assert ok.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in ok.headers["Vary"]
    assert "Retry-After" in ok.headers["Access-Control-Expose-Headers"]
    bad = post(c, s, {"role": "viewer"}, headers={"Origin": "https://evil.example.test"})
    assert "Access-Control-Allow-Origin" not in bad.headers and "Origin" in bad.headers["Vary"]
    pre = c.options("/v1/token", headers={"Origin": ORIGIN,
                                          "Access-Control-Request-Method": "POST",
                                          "Access-Control-Request-Headers": "authorization"})
    assert pre.status_code == 204
    assert pre.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in pre.headers["Access-Control-Allow-Headers"]
    pre_bad = c.options("/v1/token", headers={"Origin": "https://evil.example.test",
                                              "Access-Control-Request-Method": "POST"})
    assert not [h for h in pre_bad.headers.keys() if h.startswith("Access-Control-Allow")]
    # error answers carry the grant too, so the page can read the JSON error
    assert post(c, None, headers={"Origin": ORIGIN}).headers[
        "Access-Control-Allow-Origin"] == ORIGIN


def test_origin_rules() -> None:
    assert normalize_origin("HTTPS://Shop.Example.test:443/") == "https://shop.example.test"
    assert normalize_origin("http://localhost:5173") == "http://localhost:5173"
    for bad in ("*", "shop.example.test", "https://x.test/path", "ftp://x.test"):
        with pytest.raises(ValueError):
            normalize_origin(bad)


def test_exchange_failure_is_502_without_details(tmp_path: Path, issuer: SessionIssuer,
                                                 minter: CountingMinter) -> None:
    minter.fail = ServerError("Skyflow said: internal detail xyz", status=500)
    c = Client(make_app(tmp_path, issuer, minter))
    r = post(c, issuer.session("alice"), {"role": "viewer"})
    assert r.status_code == 502 and "xyz" not in r.text
    assert r.get_json()["error"]["message"]


def test_one_log_line_per_request_without_secrets(tmp_path: Path, issuer: SessionIssuer,
                                                  minter: CountingMinter,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    c = Client(make_app(tmp_path, issuer, minter))
    s = issuer.session("alice")
    with caplog.at_level(logging.INFO, logger="skyflow_provider.vending.access"):
        tok = post(c, s, {"role": "viewer"}).get_json()["accessToken"]
        post(c, s, {"role": "nope"})
        post(c, "forged-session-token-value")
    lines = [r.getMessage() for r in caplog.records
             if r.name == "skyflow_provider.vending.access"]
    assert len(lines) == 3
    assert "POST /v1/token 200" in lines[0] and "identity=alice" in lines[0]
    assert "role=viewer" in lines[0] and "token=minted" in lines[0] and "ms" in lines[0]
    assert " 403 " in lines[1] and " 401 " in lines[2]
    text = "\n".join(lines)
    assert tok not in text and s not in text and "forged-session-token-value" not in text


class _JwksHandler(http.server.BaseHTTPRequestHandler):
    body = b""
    hits = 0

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).hits += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def jwks_url(issuer: SessionIssuer) -> Iterator[str]:
    _JwksHandler.body = json.dumps({"keys": [issuer.jwk()]}).encode()
    _JwksHandler.hits = 0
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _JwksHandler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/jwks.json"
    srv.shutdown()


def test_jwks_from_url(issuer: SessionIssuer, minter: CountingMinter, jwks_url: str) -> None:
    verifier = JwtSessionVerifier(jwks_url, issuer=issuer.issuer, audience=issuer.audience)
    app = VendingApp(TokenVendor(minter=minter, clock=minter.clock), verifier,
                     VendingConfig(roles=RoleCatalog({"v": "rolev1"}), cors=CorsPolicy()))
    c = Client(app)
    for user in ("alice", "bob", "carol"):
        assert post(c, issuer.session(user)).status_code == 200
    assert _JwksHandler.hits == 1  # keys cached by PyJWKClient
    assert post(c, SessionIssuer().session("eve", kid=issuer.kid)).status_code == 401
    with pytest.raises(ValueError, match="https"):
        JwtSessionVerifier("http://idp.example.test/jwks", issuer="i", audience="a")


def test_verified_session_cache_stops_at_exp(tmp_path: Path, issuer: SessionIssuer,
                                             minter: CountingMinter) -> None:
    """A remembered session is refused once its exp passes (no leeway in this test)."""
    import time

    jwks = issuer.write_jwks(tmp_path / "jwks.json")
    verifier = JwtSessionVerifier(str(jwks), issuer=issuer.issuer, audience=issuer.audience,
                                  leeway=0)
    app = VendingApp(TokenVendor(minter=minter, clock=minter.clock), verifier,
                     VendingConfig(roles=RoleCatalog({"v": "rolev1"}), cors=CorsPolicy()))
    c = Client(app)
    s = issuer.session("alice", exp_in=2)
    assert post(c, s).status_code == 200
    assert post(c, s).status_code == 200  # from the verified-session cache
    assert len(verifier._verified) == 1
    assert s.encode() not in b"".join(verifier._verified)  # only digests are kept
    time.sleep(2.6)
    r = post(c, s)
    assert r.status_code == 401 and "expired" in r.get_json()["error"]["message"]
