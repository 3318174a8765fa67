"""Per-request context handed to the HTTP layer (``responses``): request parsing helpers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request

from .auth import Principal
from .errors import ApiError, bad_request
from .state import State
from .store import Store

MAX_BODY = 1 << 20

__all__ = ["Ctx", "State", "MAX_BODY"]


@dataclass
class Ctx:
    state: State
    request: Request
    params: dict[str, str]
    principal: Principal | None = None
    log_subject: str | None = None
    _body: dict[str, Any] | None = None

    @property
    def store(self) -> Store:
        return self.state.store

    @property
    def subject(self) -> str:
        return self.principal.subject if self.principal else ""

    @property
    def account_id(self) -> str:
        return self.state.account_id

    def body(self) -> dict[str, Any]:
        """The JSON object body; an empty body counts as ``{}``."""
        if self._body is None:
            if (self.request.content_length or 0) > MAX_BODY:
                raise ApiError(413, f"request body larger than {MAX_BODY} bytes")
            raw = self.request.get_data(cache=True)
            if len(raw) > MAX_BODY:
                raise ApiError(413, f"request body larger than {MAX_BODY} bytes")
            if not raw.strip():
                self._body = {}
            else:
                try:
                    parsed = json.loads(raw)
                except (ValueError, UnicodeDecodeError):
                    raise bad_request("request body is not valid JSON") from None
                if not isinstance(parsed, dict):
                    raise bad_request("request body must be a JSON object")
                self._body = parsed
        return self._body

    def parsed_body(self) -> dict[str, Any] | None:
        """The body if a handler parsed it (never parses: a bad body must not fail twice)."""
        return self._body

    def arg(self, name: str) -> str | None:
        return self.request.args.get(name)
