"""Skyflow's STS: configurations that trust an OIDC issuer, and the token exchange.

From the spec (tag "Token Exchange"): the config fields and endpoints, the exchange's body and
answer. From public integration code (SkyflowFoundry's Kong plugin, a Descope sample): the
grant and token types, that the service account must be listed in a config for the subject
token's issuer, that the signature is checked against the issuer's keys, that the minted
token's ``ctx`` is the config's ``contextClaims`` taken from the subject token (missing claims
dropped silently), and that its lifetime follows the subject token's ``exp``. Everything else
here is an assumption, listed in docs/emulator.md.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt

from ..errors import bad_request, conflict, forbidden, not_found, unauthenticated
from ..jwks import JwksCache, discover_jwks, is_loopback_host
from ..state import State
from ..store import Tx
from ..util import audit, check_id, new_id, opt_str, touch
from .allowlist import ip_allowed

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
SUBJECT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
#: signature algorithms accepted on subject tokens (asymmetric only: a JWKS is public)
ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
LEEWAY = 30  # seconds of clock skew on exp / nbf / iat
MIN_LIFETIME = 1  # a subject token about to expire mints nothing
CLAIM_RE = re.compile(r"^[a-zA-Z0-9_]+$")
MAX_SUBJECT_TOKEN = 16_384
KIND = "stsconfig"


def _url(value: Any, field: str, *, required: bool) -> str | None:
    """An https URL (http only to a loopback host, for local issuers)."""
    if value is None or value == "":
        if required:
            raise bad_request(f"{field}: required")
        return None
    if not isinstance(value, str) or len(value) > 2048:
        raise bad_request(f"{field}: must be a URL string")
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise bad_request(f"{field}: must be an https URL")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise bad_request(f"{field}: must be an https URL (http only to a loopback host)")
    return value


def _strings(value: Any, field: str, pattern: re.Pattern[str] | None = None) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise bad_request(f"{field}: must be a list of non-empty strings")
    if len(value) > 100:
        raise bad_request(f"{field}: at most 100 items")
    for i, item in enumerate(value):
        if pattern is not None and not pattern.match(item):
            raise bad_request(f"{field}[{i}]: invalid value")
    return list(dict.fromkeys(value))


def sts_namespace(account_id: str, config_id: str) -> str:
    return f"skyflow:emulator/account:{account_id}/stsConfig:{config_id}"


def sts_view(doc: dict[str, Any]) -> dict[str, Any]:
    """v1STSConfig."""
    keys = ("ID", "name", "description", "issuer", "publicKeyJWKURI", "serviceAccountIDs",
            "contextClaims", "accountID", "namespace", "BasicAudit")
    return {k: doc[k] for k in keys if doc.get(k) is not None}


class StsConfigs:
    """CRUD of /v1/sts/config."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.store = state.store
        self.account_id = state.account_id

    def _fields(self, tx: Tx, body: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
        out = dict(base)
        for key, limit in (("name", 256), ("description", 1024)):
            value = opt_str(body, key, key, limit)
            if value is not None:
                out[key] = value
        if "issuer" in body or "issuer" not in out:
            out["issuer"] = _url(body.get("issuer"), "issuer", required=True)
        if "publicKeyJWKURI" in body:
            out["publicKeyJWKURI"] = _url(body.get("publicKeyJWKURI"), "publicKeyJWKURI",
                                          required=False) or ""
        if "contextClaims" in body:
            out["contextClaims"] = _strings(body.get("contextClaims"), "contextClaims")
        if "serviceAccountIDs" in body:
            ids = _strings(body.get("serviceAccountIDs"), "serviceAccountIDs")
            for i, sa_id in enumerate(ids):
                check_id(sa_id, f"serviceAccountIDs[{i}]")
                sa = tx.get("sa", sa_id)
                if sa is None or sa.get("accountID") != self.account_id:
                    raise bad_request(f"serviceAccountIDs[{i}]: no service account {sa_id}")
            out["serviceAccountIDs"] = ids
        return out

    def create(self, body: dict[str, Any], actor: str) -> str:
        account = body.get("accountID")
        if account not in (None, "", self.account_id):
            raise bad_request("accountID: not this account")
        config_id = new_id()
        with self.store.write() as tx:
            doc = self._fields(tx, body, {"name": "", "description": "",
                                          "publicKeyJWKURI": "", "contextClaims": [],
                                          "serviceAccountIDs": []})
            if doc.get("name") and tx.find(KIND, account_id=self.account_id,
                                           name=doc["name"]):
                raise conflict(f"An STS config named {doc['name']!r} already exists")
            doc.update(ID=config_id, accountID=self.account_id,
                       namespace=sts_namespace(self.account_id, config_id),
                       BasicAudit=audit(actor))
            tx.put(KIND, config_id, doc, account_id=self.account_id, name=doc["name"] or None)
        return config_id

    def get(self, config_id: str) -> dict[str, Any]:
        with self.store.read() as tx:
            return self._load(tx, config_id)

    def _load(self, tx: Tx, config_id: str) -> dict[str, Any]:
        check_id(config_id, "ID")
        doc = tx.get(KIND, config_id)
        if doc is None or doc.get("accountID") != self.account_id:
            raise not_found(f"No STS config with ID {config_id}")
        return doc

    def list_(self, name: str | None) -> list[dict[str, Any]]:
        with self.store.read() as tx:
            return tx.find(KIND, account_id=self.account_id, name=name or None)

    def update(self, config_id: str, body: dict[str, Any], actor: str) -> dict[str, Any]:
        if "accountID" in body:
            raise bad_request("accountID: cannot be changed")
        with self.store.write() as tx:
            doc = self._fields(tx, body, self._load(tx, config_id))
            if doc.get("name"):
                others = [d for d in tx.find(KIND, account_id=self.account_id, name=doc["name"])
                          if d["ID"] != config_id]
                if others:
                        raise conflict(f"An STS config named {doc['name']!r} already exists")
            doc["BasicAudit"] = touch(doc.get("BasicAudit") or audit(actor), actor)
            tx.put(KIND, config_id, doc, account_id=self.account_id, name=doc["name"] or None)
        return doc

    def delete(self, config_id: str) -> str:
        with self.store.write() as tx:
            self._load(tx, config_id)
            tx.delete(KIND, config_id)
        return config_id


# ----- the exchange ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exchanged:
    token: str
    service_account_id: str


def _context(claims: dict[str, Any], wanted: list[str]) -> dict[str, Any] | None:
    """``contextClaims`` taken from the subject token; absent claims dropped silently."""
    ctx = {name: claims[name] for name in wanted
           if name in claims and CLAIM_RE.match(name) and claims[name] is not None}
    return ctx or None


def exchange(state: State, cache: JwksCache, form: dict[str, Any],
             remote_addr: str | None) -> Exchanged:
    """Verify the subject token against the STS configs; mint an access token."""
    if form.get("grant_type") != GRANT_TYPE:
        raise bad_request(f"grant_type: must be {GRANT_TYPE}")
    if form.get("subject_token_type") != SUBJECT_TOKEN_TYPE:
        raise bad_request(f"subject_token_type: must be {SUBJECT_TOKEN_TYPE}")
    subject_token = form.get("subject_token")
    if not isinstance(subject_token, str) or not subject_token:
        raise bad_request("subject_token: required")
    if len(subject_token) > MAX_SUBJECT_TOKEN:
        raise bad_request("subject_token: too long")
    sa_id = form.get("service_account_id")
    if not isinstance(sa_id, str) or not sa_id:
        raise bad_request("service_account_id: required (the emulator does not pick one)")
    check_id(sa_id, "service_account_id")
    try:
        header = jwt.get_unverified_header(subject_token)
        unverified = jwt.decode(subject_token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise unauthenticated("subject_token is not a JWT") from None
    alg, kid = header.get("alg"), str(header.get("kid") or "")
    if alg not in ALGORITHMS:
        raise unauthenticated(f"subject_token: algorithm {alg!r} is not accepted "
                              f"({', '.join(ALGORITHMS)})")
    iss = unverified.get("iss")
    if not isinstance(iss, str) or not iss:
        raise unauthenticated("subject_token has no iss claim")
    with state.store.read() as tx:
        configs = [c for c in tx.find(KIND, account_id=state.account_id)
                   if c.get("issuer") == iss]
        listing = [c for c in configs if sa_id in (c.get("serviceAccountIDs") or [])]
        sa = tx.get("sa", sa_id)
    if not configs:
        raise unauthenticated(f"No STS config trusts the issuer {iss}")
    if not listing:
        raise forbidden(f"Service account {sa_id} is not listed in an STS config for the "
                        f"issuer {iss}")
    config = listing[0]
    uri = config.get("publicKeyJWKURI") or discover_jwks(cache, iss)
    jwk = cache.key(uri, kid)
    if jwk is None:
        raise unauthenticated(f"subject_token is signed by a key (kid {kid!r}) that is not in "
                              "the issuer's JWKS")
    if jwk.algorithm_name != alg:
        raise unauthenticated("subject_token's algorithm does not match the key's")
    try:
        claims = jwt.decode(subject_token, jwk.key, algorithms=[alg], issuer=iss, leeway=LEEWAY,
                            options={"require": ["exp", "iss"], "verify_aud": False})
    except jwt.ExpiredSignatureError:
        raise unauthenticated("subject_token has expired") from None
    except jwt.ImmatureSignatureError:
        raise unauthenticated("subject_token is not valid yet (nbf or iat in the "
                              "future)") from None
    except jwt.InvalidSignatureError:
        raise unauthenticated("subject_token signature verification failed") from None
    except jwt.InvalidTokenError as exc:
        raise unauthenticated(f"subject_token is invalid ({type(exc).__name__})") from None
    if sa is None or sa.get("accountID") != state.account_id or sa.get("status") != "ACTIVE":
        raise unauthenticated(f"Service account {sa_id} does not exist or is not active")
    if sa.get("apiKeyEnabled"):
        raise forbidden("Service account is configured for API keys; it cannot get bearer "
                        "tokens")
    if not ip_allowed(sa, remote_addr, for_token=True):
        raise forbidden("Request origin not in the service account's IP allowlist")
    context = _context(claims, list(config.get("contextClaims") or []))
    if context is None and (sa.get("clientConfiguration") or {}).get("enforceContextID"):
        raise unauthenticated("The subject token carries none of the STS config's "
                              "contextClaims, and the service account requires a ctx "
                              "(enforceContextID)")
    lifetime = int(claims["exp"]) - int(time.time())
    if lifetime < MIN_LIFETIME:
        raise unauthenticated("subject_token has expired")
    token, _ = state.issuer.issue(subject=sa_id, account_id=state.account_id, key_id="",
                                  scoped_roles=None, context=context,
                                  max_lifetime=lifetime, auth_mode="STS")
    return Exchanged(token, sa_id)
