"""Test doubles for the vending tests: a fake clock, a counting minter, a session issuer."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


class CountingMinter:
    """Mints JWT-shaped tokens (exp from the clock) and counts calls per key."""

    def __init__(self, clock: FakeClock, ttl: float = 3600.0, delay: float = 0.0) -> None:
        self.clock = clock
        self.ttl = ttl
        self.delay = delay
        self.calls: list[tuple[tuple[str, ...] | None, Any]] = []
        self.fail: BaseException | None = None
        self._lock = threading.Lock()

    def __call__(self, role_ids: tuple[str, ...] | None, ctx: Any) -> tuple[str, str]:
        with self._lock:
            self.calls.append((role_ids, ctx))
        if self.delay:
            time.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        claims: dict[str, Any] = {"exp": int(self.clock() + self.ttl), "jti": uuid.uuid4().hex}
        if role_ids:
            claims["scope"] = " ".join(f"role:{r}" for r in role_ids)
        if ctx is not None:
            claims["context_identifier"] = ctx
        return jwt.encode(claims, "k" * 32, algorithm="HS256"), "Bearer"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.calls)


class SessionIssuer:
    """The app's identity provider: signs session JWTs; its public keys as a JWKS file."""

    def __init__(self, issuer: str = "https://login.example.test/",
                 audience: str = "skyflow-token", kind: str = "rsa") -> None:
        self.issuer = issuer
        self.audience = audience
        self.kid = uuid.uuid4().hex[:12]
        if kind == "ec":
            self.key: Any = ec.generate_private_key(ec.SECP256R1())
            self.alg = "ES256"
        else:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.alg = "RS256"

    def jwk(self) -> dict[str, Any]:
        algo = jwt.algorithms.ECAlgorithm if self.alg == "ES256" else jwt.algorithms.RSAAlgorithm
        data = json.loads(algo.to_jwk(self.key.public_key()))
        data.update(kid=self.kid, alg=self.alg, use="sig")
        return dict(data)

    def write_jwks(self, path: Path, *extra: SessionIssuer) -> Path:
        path.write_text(json.dumps({"keys": [self.jwk(), *(e.jwk() for e in extra)]}))
        return path

    def private_pem(self) -> str:
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode()

    def session(self, sub: str, *, exp_in: float = 900, aud: str | None = None,
                iss: str | None = None, kid: str | None = None, now: float | None = None,
                **extra: Any) -> str:
        now = time.time() if now is None else now
        claims: dict[str, Any] = {"sub": sub, "iss": iss or self.issuer,
                                  "aud": aud or self.audience, "iat": int(now),
                                  "exp": int(now + exp_in), **extra}
        return jwt.encode(claims, self.key, algorithm=self.alg,
                          headers={"kid": kid or self.kid})
