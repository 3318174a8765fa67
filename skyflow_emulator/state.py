"""The emulator's shared state: one per process, no HTTP in it (the models use it too)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .auth import TokenIssuer
from .faults import Faults
from .jwks import JwksCache
from .keystock import KeyStock
from .requestlog import RequestLog
from .store import Store

TOKEN_PATH = "/v1/auth/sa/oauth/token"


@dataclass
class State:
    """Everything shared by all requests of one emulator process."""

    data_dir: Path
    store: Store
    issuer: TokenIssuer
    faults: Faults
    log: RequestLog
    admin_token: str
    account_id: str
    admin_sa_id: str
    base_url: str = ""
    host_aliases: list[str] = field(default_factory=list)
    cors_origins: list[str] = field(default_factory=list)
    # Pre-generated RSA pairs for JWT keys; size 0 (the default here) generates every pair inline.
    keys: KeyStock = field(default_factory=KeyStock)
    # The STS exchange's cache of OIDC issuers' keys (trusting --trust-ca files).
    jwks: JwksCache = field(default_factory=JwksCache)

    @property
    def token_uri(self) -> str:
        return self.base_url + TOKEN_PATH

    def accepted_audiences(self) -> list[str]:
        """The tokenURI under every loopback name the server answers to."""
        return [a + TOKEN_PATH for a in self.host_aliases] or [self.token_uri]
