"""Redaction of secrets from text, headers and JSON bodies.

Every message, repr and log line this package produces goes through here, so a private key,
an API key, a bearer token or a JWT assertion never ends up in a terminal, a Pulumi log or CI
output. Patterns are deliberately broad: a false positive costs a little readability, a false
negative leaks a credential.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[REDACTED]"

# PEM blocks of any kind of private key (PKCS#8, PKCS#1, EC), complete or cut off.
_PEM_RE = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
    re.DOTALL,
)
# JSON-escaped PEM (newlines as \n inside a JSON string) is covered by the same pattern because
# the DOTALL match runs up to END; a PEM cut off mid-string is covered by the "$" branch.
# No word boundaries: a secret glued to other text ("x=eyJ…", "0sky-…") must still match.
_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
_API_KEY_RE = re.compile(r"sky-[A-Za-z0-9]{5}-[A-Fa-f0-9]{32,}")
# A credential after "Bearer": real values are long (API keys 42 chars, JWTs hundreds), which
# keeps prose such as "bearer token has expired" readable.
_BEARER_RE = re.compile(r"(?i)(bearer)\s+[A-Za-z0-9._~+/=-]{16,}")
# "privateKey": "....", "apiKey": "...", "accessToken": "..." etc. in JSON-ish text.
SECRET_FIELDS = frozenset(
    {
        "privatekey",
        "private_key",
        "apikey",
        "api_key",
        "accesstoken",
        "access_token",
        "assertion",
        "bearertoken",
        "bearer_token",
        "credentials",
        "privatekeydata",
        "authorization",
        "subject_token",
        "password",
        "secret",
    }
)
_FIELD_RE = re.compile(
    r'(?i)("(?:privateKey|private_key|apiKey|api_key|accessToken|access_token|assertion|'
    r'bearerToken|bearer_token|privateKeyData|subject_token)"\s*:\s*)"(?:[^"\\]|\\.)*"'
)


def redact_text(text: str, extra_secrets: Iterable[str | None] = ()) -> str:
    """Return ``text`` with every recognisable secret (and each of ``extra_secrets``) masked."""
    if not text:
        return text
    for secret in extra_secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, REDACTED)
    text = _FIELD_RE.sub(lambda m: m.group(1) + '"' + REDACTED + '"', text)
    text = _PEM_RE.sub(REDACTED, text)
    text = _BEARER_RE.sub(lambda m: m.group(1) + " " + REDACTED, text)
    text = _JWT_RE.sub(REDACTED, text)
    text = _API_KEY_RE.sub(REDACTED, text)
    return text


def redact_value(value: Any) -> Any:
    """Deep-copy a JSON-like value with secret fields and secret-looking strings masked."""
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if str(k).lower() in SECRET_FIELDS and v not in (None, "") else
                redact_value(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    """Headers safe to log: Authorization, cookies and anything key-like are masked."""
    out: dict[str, Any] = {}
    for k, v in headers.items():
        lk = k.lower()
        if lk in ("authorization", "proxy-authorization", "cookie", "set-cookie") or "key" in lk \
                or "token" in lk or "secret" in lk:
            out[k] = REDACTED
        else:
            out[k] = redact_text(str(v))
    return out


def redact_body(body: Any, limit: int = 2000) -> str:
    """A short, redacted rendering of a request/response body for debug logs."""
    if body is None:
        return ""
    if isinstance(body, bytes | bytearray):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return f"<{len(body)} bytes>"
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            text = redact_text(body)
            return text if len(text) <= limit else text[:limit] + "..."
    text = json.dumps(redact_value(body), sort_keys=True)
    return text if len(text) <= limit else text[:limit] + "..."
