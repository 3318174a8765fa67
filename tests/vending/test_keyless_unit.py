"""Keyless vending, unit level: the vendor exchanges each caller's verified session token at
Skyflow's STS (a recording fake here), one keyless service account per role, cached per user,
the token's life ending with the session's; and ``skyflow-token serve --keyless`` refuses what
would hold a credential. The end-to-end twin (real emulator STS, real issuer, the real
``skyflow-token serve`` process) is in tests/e2e/test_keyless.py.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import jwt
import pytest
from werkzeug.test import Client

from skyflow_provider.cli.serve import BadInput, build_app, build_parser
from skyflow_provider.vending import (
    CorsPolicy,
    JwtSessionVerifier,
    RoleCatalog,
    StsExchange,
    TokenVendor,
    TokenVendorError,
    VendingApp,
    VendingConfig,
)

from .fakes import FakeClock, SessionIssuer


class FakeSts:
    """Plays Skyflow's STS: ctx = the session's ``sub`` and ``aud``, exp = the session's."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, service_account_id: str, subject_token: str) -> tuple[str, str]:
        with self._lock:
            self.calls.append((service_account_id, subject_token))
        session = jwt.decode(subject_token, options={"verify_signature": False})
        claims = {"sub": service_account_id, "exp": session["exp"],
                  "context_identifier": {"sub": session["sub"], "aud": session["aud"]}}
        return jwt.encode(claims, "k" * 32, algorithm="HS256"), "Bearer"


def _vendor(clock: FakeClock, sts: FakeSts) -> TokenVendor:
    return TokenVendor(sts=sts, clock=clock)  # type: ignore[arg-type]


def test_vendor_exchanges_the_session_per_user_and_account() -> None:
    clock, sts, idp = FakeClock(), FakeSts(), SessionIssuer()
    v = _vendor(clock, sts)
    assert v.keyless and v.client_id is None and "keyless" in repr(v)
    alice = idp.session("alice", exp_in=1800, now=clock())
    tok = v.get(["saViewer"], "alice", subject_token=alice)
    assert sts.calls == [("saViewer", alice)]  # the session itself, for the role's account
    assert tok.ctx == {"sub": "alice", "aud": idp.audience}  # the STS's ctx, not ours
    assert tok.expires_at == jwt.decode(alice, options={"verify_signature": False})["exp"]
    # alice again, with a newer session: her cached token; bob: his own exchange
    again = idp.session("alice", exp_in=3600, now=clock())
    assert v.fetch(["saViewer"], "alice", subject_token=again) == (tok, "cache")
    bob = v.get(["saViewer"], "bob", subject_token=idp.session("bob", now=clock()))
    assert bob.ctx["sub"] == "bob" and len(sts.calls) == 2
    # near the end of the session that minted it: re-minted from the session presented then
    clock.advance(1800 - 120)
    fresh = v.get(["saViewer"], "alice", subject_token=again)
    assert sts.calls[-1] == ("saViewer", again) and fresh.expires_at > tok.expires_at


def test_vendor_refuses_without_a_session_or_with_several_accounts() -> None:
    v = _vendor(FakeClock(), FakeSts())
    token = SessionIssuer().session("alice")
    for roles, subject in ((["saViewer"], None), (["saA", "saB"], token), (None, token)):
        with pytest.raises(TokenVendorError, match="session token"):
            v.get(roles, "alice", subject_token=subject)
    with pytest.raises(ValueError, match="exactly one"):
        TokenVendor(sts=StsExchange("https://manage.example.com"),
                    minter=lambda r, c: ("", ""))


def test_app_passes_the_verified_session_and_never_the_body(tmp_path: Path) -> None:
    idp, sts, clock = SessionIssuer(), FakeSts(), FakeClock()
    verifier = JwtSessionVerifier(str(idp.write_jwks(tmp_path / "jwks.json")),
                                  issuer=idp.issuer, audience=idp.audience)
    config = VendingConfig(roles=RoleCatalog({"viewer": "saViewer", "editor": "saEditor"}),
                           cors=CorsPolicy([]))
    app = Client(VendingApp(_vendor(clock, sts), verifier, config))
    session = idp.session("alice")
    r = app.post("/v1/token", json={"role": "editor"},
                 headers={"Authorization": f"Bearer {session}"})
    assert r.status_code == 200, r.text
    assert sts.calls == [("saEditor", session)]
    claims = jwt.decode(r.get_json()["accessToken"], options={"verify_signature": False})
    assert claims["sub"] == "saEditor" and claims["context_identifier"]["sub"] == "alice"
    # a session for another app of the same identity provider never reaches the STS here
    other = idp.session("alice", aud="another-app")
    r = app.post("/v1/token", json={"role": "editor"},
                 headers={"Authorization": f"Bearer {other}"})
    assert r.status_code == 401 and len(sts.calls) == 1
    # the verified-session cache keeps digests only: no session token in the Caller's repr
    caller = verifier({"HTTP_AUTHORIZATION": f"Bearer {session}"})
    assert caller.subject_token == session and session not in repr(caller)


def _args(*argv: str) -> Any:
    return build_parser().parse_args(["--port", "0", "--role", "viewer=saViewer", *argv])


AUTH = ("--auth-jwks", "https://login.example.test/jwks", "--auth-issuer",
        "https://login.example.test/", "--auth-audience", "skyflow-token")


def test_serve_keyless_holds_no_credentials(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.delenv("SKYFLOW_CREDENTIALS", raising=False)
    monkeypatch.delenv("SKYFLOW_CREDENTIALS_FILE", raising=False)
    monkeypatch.delenv("SKYFLOW_MANAGEMENT_URL", raising=False)
    app, facts = build_app(_args("--keyless", *AUTH))
    assert app.vendor.keyless and facts["client_id"].startswith("none (keyless")
    creds = tmp_path / "credentials.json"
    creds.write_text("{}")
    for argv, env, says in (
            (("--keyless", "--insecure-dev-no-auth"), {}, "not --insecure-dev-no-auth"),
            (("--keyless", "--credentials", str(creds), *AUTH), {}, "drop --credentials"),
            (("--keyless", *AUTH), {"SKYFLOW_CREDENTIALS": "{}"}, "drop SKYFLOW_CREDENTIALS"),
            (("--keyless", "--management-url", "http://manage.example.com", *AUTH), {},
             "https"),
            (("--management-url", "https://manage.example.com", *AUTH), {},
             "applies to --keyless only")):
        with monkeypatch.context() as m:
            for k, v in env.items():
                m.setenv(k, v)
            with pytest.raises(BadInput) as info:
                build_app(_args(*argv))
        assert says in str(info.value), (argv, str(info.value))
