"""Per-request context handed to handlers, and the emulator's shared state."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request

from .auth import Principal, TokenIssuer
from .errors import ApiError, bad_request, not_found
from .faults import Faults
from .requestlog import RequestLog
from .store import Store, Tx
from .util import check_id

MAX_BODY = 1 << 20


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

    @property
    def token_uri(self) -> str:
        return self.base_url + "/v1/auth/sa/oauth/token"

    def accepted_audiences(self) -> list[str]:
        """The tokenURI under every loopback name the server answers to."""
        return [a + "/v1/auth/sa/oauth/token" for a in self.host_aliases] or [self.token_uri]


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

    def arg(self, name: str) -> str | None:
        return self.request.args.get(name)


def load(tx: Tx, kind: str, obj_id: str, what: str, account_id: str) -> dict[str, Any]:
    """Fetch an object of this account or answer 404 naming it."""
    check_id(obj_id, what)
    doc = tx.get(kind, obj_id)
    if doc is None or doc.get("accountID", account_id) != account_id:
        raise not_found(f"{what} {obj_id} not found")
    return doc
