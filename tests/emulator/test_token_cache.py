"""The emulator checks a token's signature once and remembers it; expiry is checked every time."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from skyflow_emulator.auth import TokenIssuer, new_rsa_keypair


def test_a_remembered_token_still_expires_and_a_forged_one_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[str] = []  # every token whose signature and claims were checked
    real_decode = jwt.decode

    def counting_decode(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return real_decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting_decode)
    issuer = TokenIssuer(new_rsa_keypair().private_pem, ttl=60)
    token, claims = issuer.issue(subject="sa1", account_id="acc", key_id="k",
                                 scoped_roles=None, context=None)
    first = issuer.verify(token)
    first["sub"] = "changed by a caller"
    for _ in range(5):
        assert issuer.verify(token)["sub"] == "sa1"  # callers get copies
    assert decoded == [token]  # six uses, one signature check

    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(jwt.ExpiredSignatureError):
        issuer.verify(token)  # remembered, and still expires: no second signature check
    assert decoded == [token]

    head, body, sig = token.split(".")
    forged = f"{head}.{body}.{sig[:-4]}AAAA"
    for _ in range(2):  # a refused token is never remembered
        with pytest.raises(jwt.InvalidTokenError):
            issuer.verify(forged)
    assert decoded == [token, forged, forged]
    assert claims["exp"] <= later
