"""Key pairs, the emulator's own access tokens, API-key hashing.

Access tokens are RS256 JWTs signed by a key that lives in the data dir, so tokens survive a
restart exactly like Skyflow's (60 minutes). Verification is independent of any client code.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ACCESS_TOKEN_TTL = 3600
TOKEN_ISSUER = "skyflow-emulator"
TOKEN_AUDIENCE = "skyflow-management"
VERIFIED_CACHE_SIZE = 4096
API_KEY_RE = re.compile(r"^sky-[a-zA-Z0-9]{5}-[a-f0-9]{32}$")


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str


def new_rsa_keypair() -> KeyPair:
    """A fresh RSA-2048 pair; the private key as PKCS#8 PEM like Skyflow's credentials.json."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    priv = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()
    pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return KeyPair(priv, pub)


def public_key_der_b64(public_pem: str) -> str:
    key = serialization.load_pem_public_key(public_pem.encode())
    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def new_api_key() -> str:
    """``sky-<5 alnum>-<32 hex>``, the format Skyflow's SDKs validate."""
    alphabet = string.ascii_letters + string.digits
    prefix = "".join(secrets.choice(alphabet) for _ in range(5))
    return f"sky-{prefix}-{secrets.token_hex(16)}"


def api_key_hash(api_key: str) -> str:
    """Only a hash is stored; the key itself is shown once."""
    return hashlib.sha256(api_key.encode()).hexdigest()


@dataclass
class Principal:
    """Who is calling: a service account authenticated by an access token or an API key."""

    subject: str
    account_id: str
    mode: str  # "SERVICE_ACCOUNT_JWT" or "API_KEY"
    scoped_roles: list[str] | None = None
    context: Any = None
    claims: dict[str, Any] = field(default_factory=dict)


class TokenIssuer:
    """Signs and verifies the emulator's access tokens."""

    def __init__(self, private_pem: str, ttl: int = ACCESS_TOKEN_TTL) -> None:
        self.ttl = ttl
        self._private = serialization.load_pem_private_key(private_pem.encode(), password=None)
        self._public = self._private.public_key()
        # token -> its claims, signature and claims already checked once: a client sends the
        # same token with every call, and the RS256 check + parse was ~a quarter of a simple
        # request's CPU. Expiry is still checked on every use.
        self._verified: dict[str, dict[str, Any]] = {}

    def issue(self, *, subject: str, account_id: str, key_id: str,
              scoped_roles: list[str] | None, context: Any, max_lifetime: int | None = None,
              auth_mode: str = "SERVICE_ACCOUNT_JWT") -> tuple[str, dict[str, Any]]:
        """``max_lifetime`` caps the token's life (an STS token ends with its subject token)."""
        iat = int(time.time())
        ttl = self.ttl if max_lifetime is None else max(1, min(self.ttl, max_lifetime))
        claims: dict[str, Any] = {
            "iss": TOKEN_ISSUER,
            "aud": TOKEN_AUDIENCE,
            "sub": subject,
            "iat": iat,
            "nbf": iat - 1,
            "exp": iat + ttl,
            "jti": secrets.token_hex(16),
            "key": key_id,
            "account_id": account_id,
            "auth_mode": auth_mode,
        }
        if scoped_roles is not None:
            claims["scope"] = " ".join(f"role:{r}" for r in scoped_roles)
        if context is not None:
            claims["context_identifier"] = context
        token = jwt.encode(claims, self._private, algorithm="RS256")  # type: ignore[arg-type]
        return token, claims

    def verify(self, token: str) -> dict[str, Any]:
        """Signature, issuer, audience, expiry; raises ``jwt.InvalidTokenError``."""
        known = self._verified.get(token)
        if known is not None:
            if int(known["exp"]) <= time.time():  # PyJWT's rule, no leeway
                self._verified.pop(token, None)
                raise jwt.ExpiredSignatureError("Signature has expired")
            return dict(known)
        claims: dict[str, Any] = jwt.decode(
            token, self._public, algorithms=["RS256"],  # type: ignore[arg-type]
            audience=TOKEN_AUDIENCE, issuer=TOKEN_ISSUER,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = dict(claims)
        return claims
