"""CORS for the Data API: browsers (skyflow-js) call it from the origins given by --cors-origin.

No origin configured means no CORS headers at all (the default). Only exact origins match.
"""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from .errors import error_response as _error
from .errors import forbidden

# What skyflow-js's XHRs send (src/client, src/core-utils): authorization, content-type and
# sky-metadata; X-Skyflow-* headers are allowed too for other clients.
ALLOWED_HEADERS = ("authorization", "content-type", "sky-metadata")
ALLOWED_PREFIX = "x-skyflow-"
EXPOSED_HEADERS = "X-Request-ID"
MAX_AGE = "600"


class Cors:
    def __init__(self, origins: list[str]) -> None:
        self.origins = {o.rstrip("/") for o in origins}

    def allowed(self, request: Request) -> str | None:
        origin = request.headers.get("Origin")
        return origin if origin and origin in self.origins else None

    def decorate(self, request: Request, response: Response) -> None:
        """An actual request from an allowed origin: let the page read the answer."""
        origin = self.allowed(request)
        if origin is None:
            return
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        response.headers.add("Vary", "Origin")

    def preflight(self, request: Request, methods: list[str]) -> Response:
        """204 with the allowed methods and headers, or 403 without any CORS header."""
        origin = self.allowed(request)
        if origin is None:
            return _error(forbidden("CORS: origin not allowed (see --cors-origin)"))
        wanted = request.headers.get("Access-Control-Request-Method", "")
        if wanted and wanted not in methods:
            return _error(forbidden(f"CORS: method {wanted} not allowed on this path"))
        asked = [h.strip().lower() for h in
                 request.headers.get("Access-Control-Request-Headers", "").split(",")
                 if h.strip()]
        refused = [h for h in asked
                   if h not in ALLOWED_HEADERS and not h.startswith(ALLOWED_PREFIX)]
        if refused:
            return _error(forbidden(f"CORS: header {refused[0]} not allowed"))
        response = Response(status=204)
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
        response.headers["Access-Control-Allow-Headers"] = ", ".join(
            dict.fromkeys([*ALLOWED_HEADERS, *asked]))
        response.headers["Access-Control-Max-Age"] = MAX_AGE
        response.headers.add("Vary", "Origin")
        return response
