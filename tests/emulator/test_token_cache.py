"""The emulator checks a token's signature once and remembers it; expiry is checked every time."""

from __future__ import annotations

import time

import jwt
import pytest

from skyflow_emulator.auth import TokenIssuer, new_rsa_keypair


def test_a_remembered_token_still_expires_and_a_forged_one_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    issuer = TokenIssuer(new_rsa_keypair().private_pem, ttl=60)
    token, claims = issuer.issue(subject="sa1", account_id="acc", key_id="k",
                                 scoped_roles=None, context=None)
    first = issuer.verify(token)
    first["sub"] = "changed by a caller"
    assert issuer.verify(token)["sub"] == "sa1"  # callers get copies
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(jwt.ExpiredSignatureError):
        issuer.verify(token)
    head, body, sig = token.split(".")
    with pytest.raises(jwt.InvalidTokenError):
        issuer.verify(f"{head}.{body}.{sig[:-4]}AAAA")
    assert claims["exp"] <= later
