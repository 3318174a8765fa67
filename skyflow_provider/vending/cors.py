"""CORS for the token endpoint: an explicit allow-list of origins, nothing else.

Why: the official sample answers ``Access-Control-Allow-Origin: *``, so any page on the web can
script the endpoint. Here only listed origins are granted; every response carries
``Vary: Origin`` so a shared cache never serves one origin's grant to another.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

ALLOWED_METHODS = "POST, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type"
EXPOSED_HEADERS = "Retry-After"
PREFLIGHT_MAX_AGE = "600"


def normalize_origin(origin: str) -> str:
    """``https://app.example.com[:port]``, lower-cased, without a path; ValueError otherwise."""
    text = (origin or "").strip()
    if text == "*":
        raise ValueError("origin '*' is refused: list each origin the pages are served from")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(f"origin {origin!r} is not a URL origin") from None
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username \
            or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"origin {origin!r}: expected scheme://host[:port] with no path")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"https": 443, "http": 80}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


class CorsPolicy:
    """Which origins may call the endpoint from a browser, and the headers that say so."""

    def __init__(self, origins: Iterable[str] = ()) -> None:
        self.origins = frozenset(normalize_origin(o) for o in origins)

    def allowed(self, origin: str | None) -> bool:
        if not origin or not self.origins:
            return False
        try:
            return normalize_origin(origin) in self.origins
        except ValueError:
            return False

    def headers(self, origin: str | None) -> list[tuple[str, str]]:
        """Headers for an actual (non-preflight) response."""
        out = [("Vary", "Origin")]
        if origin and self.allowed(origin):
            out += [("Access-Control-Allow-Origin", origin),
                    ("Access-Control-Expose-Headers", EXPOSED_HEADERS)]
        return out

    def preflight_headers(self, origin: str | None) -> list[tuple[str, str]]:
        """Headers for an ``OPTIONS`` preflight; no grant at all for other origins."""
        out = [("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")]
        if origin and self.allowed(origin):
            out += [("Access-Control-Allow-Origin", origin),
                    ("Access-Control-Allow-Methods", ALLOWED_METHODS),
                    ("Access-Control-Allow-Headers", ALLOWED_HEADERS),
                    ("Access-Control-Max-Age", PREFLIGHT_MAX_AGE)]
        return out
