"""The request plumbing under ``ManagementClient``: one authenticated call, errors, pages.

Transport concerns live in ``http.pool`` (urllib3 connections, shared by every thread Pulumi
calls the provider from) and ``http.transport`` (retry policy, TLS trust); authentication in
``auth.tokens.TokenProvider``. This module builds requests, maps Skyflow's error envelope to
typed exceptions, and paginates; ``client.py`` adds one method per operation on top.
"""

from __future__ import annotations

import json as jsonlib
import logging
import ssl
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import urllib3

from ..auth.credentials import check_url
from ..auth.tokens import TokenProvider
from ..http import transport as http_session
from ..http.errors import (
    ConfigError,
    SkyflowError,
    TransportError,
    error_from_response,
    request_id_of,
)
from ..http.pool import ApiPool, encode_query
from ..http.redaction import redact_body, redact_headers
from .settings import ProviderSettings

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 25
MAX_PAGES = 10_000


def _q(value: str) -> str:
    """Quote one path segment (ids are opaque; never let one add a path level)."""
    return quote(str(value), safe="")


class ClientBase:
    """Authenticated calls to Skyflow's Management API for ``settings``; parsed JSON back.

    Thread-safe: urllib3's pools are, and the token provider has its own lock. Refuses to be
    pickled, so it can never be captured into a dynamic provider's serialized state.
    """

    def __init__(
        self,
        settings: ProviderSettings,
        token_provider: TokenProvider | None = None,
        *,
        timeout: Any = None,
        retry_total: int = 5,
        backoff_factor: float = 0.5,
        rate_limit_rounds: int = 2,
        owner_tag: str | None = None,
    ) -> None:
        problem = check_url(settings.management_url, "The management URL")
        if problem:
            raise ConfigError(problem, key="skyflow:managementUrl",
                              env_var="SKYFLOW_MANAGEMENT_URL")
        self.settings = settings
        self.base_url = settings.management_url.rstrip("/")
        #: the stack's tag, the ``ctx`` of every token this client exchanges (only
        #: service-account credentials can carry one): Skyflow's audit log then shows what a
        #: run of this stack did (recovery/owner.py)
        self._owner_tag = (owner_tag or settings.owner_tag) if settings.credentials else None
        #: keyless: the tag asked for as the OIDC token's audience; the proof is the ctx the
        #: STS then gives (``owner_tag``, read from the first token, audit.keyless_proof)
        self._stack_tag: str | None = None
        self._keyless_proof: tuple[str | None, str] | None = None
        self._keyless_mode = bool(getattr(settings, "oidc_token_source", None))
        if self._keyless_mode:
            self._stack_tag = owner_tag or settings.owner_tag
            self.tokens = token_provider or TokenProvider.from_settings(
                settings, audience=settings.oidc_audience or self._stack_tag)
        else:
            self.tokens = token_provider or TokenProvider.from_settings(settings,
                                                                        ctx=self._owner_tag)
        self.timeout = timeout if timeout is not None else settings.timeout
        self._pool = ApiPool(settings.ca_bundle)
        self._retries = {idem: http_session.make_retry(idempotent=idem, total=retry_total,
                                                       backoff_factor=backoff_factor)
                         for idem in (True, False)}
        # 429 means "not processed": after urllib3's retries, wait Retry-After and start over
        # this many more times, so a long rate-limit burst slows a run down instead of failing
        # it (each round is retry_total + 1 attempts).
        self._rate_limit_rounds = rate_limit_rounds

    @property
    def owner_tag(self) -> str | None:
        """What Skyflow's audit log records as ``bearerTokenContextID`` for this stack's runs,
        or None when nothing can be proved (``owner_tag_problem`` says why)."""
        if not self._keyless_mode:
            return self._owner_tag
        return self._keyless()[0]

    @owner_tag.setter
    def owner_tag(self, value: str | None) -> None:
        """An explicit tag (tests, tools): used as is, keyless or not."""
        self._owner_tag, self._keyless_mode = value, False

    @property
    def owner_tag_problem(self) -> str:
        """Why ``owner_tag`` is None ("" when it is not)."""
        if not self._keyless_mode:
            return "" if self._owner_tag else (
                "the provider's token carries no tag naming this stack (only service-account "
                "credentials or keyless credentials whose ctx names the stack can)")
        return self._keyless()[1]

    def _keyless(self) -> tuple[str | None, str]:
        """The keyless proof, read once from the ctx of this client's own STS token."""
        if self._keyless_proof is None:
            from ..auth.tokens import token_claims
            from .audit import keyless_proof

            if not self._stack_tag:  # nothing to compare the ctx with: no token asked for
                return keyless_proof(None, None)
            try:
                ctx = token_claims(self.tokens.get_token()).get("context_identifier")
            except SkyflowError as err:  # the next API call reports it; nothing is proved
                return None, f"no token to read the ctx of ({err.summary})"
            self._keyless_proof = keyless_proof(ctx, self._stack_tag)
        return self._keyless_proof

    def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        operation: str = "",
        target: str = "",
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """Send one API call; return the JSON object or raise a ``SkyflowError`` subclass.

        ``idempotent`` defaults to True for GET/PUT/DELETE and False for POST/PATCH; it
        decides whether 5xx/read errors are retried (429 always is).
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "DELETE")
        query = encode_query(params)
        url = self.base_url + path + ("?" + query if query else "")
        body = None if json is None else jsonlib.dumps(json, allow_nan=False).encode()
        op = operation or f"{method} {path}"
        retried_auth = False
        rate_rounds = 0
        earlier_attempts = 0  # attempts of earlier rate-limit rounds
        while True:
            token = self.tokens.get_token()
            headers = {
                "Authorization": f"Bearer {token}",
                "X-Skyflow-Account-ID": self.settings.account_id,
                "Accept": "application/json",
            }
            if json is not None:
                headers["Content-Type"] = "application/json"
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s %s headers=%s body=%s", method, url,
                          redact_headers(headers), redact_body(json))
            started = time.monotonic()
            try:
                resp = self._pool.send(method, url, headers=headers, body=body,
                                       retry=self._retries[idempotent], timeout=self.timeout)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise self._transport_error(exc, op, target) from None
            attempts = resp.attempts
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s %s -> %s in %.0f ms (%d attempt(s)) request_id=%s body=%s",
                          method, url, resp.status_code, (time.monotonic() - started) * 1000,
                          attempts, request_id_of(resp, None), redact_body(resp.content))
            if resp.status_code == 401 and not retried_auth and \
                    self.tokens.invalidate(token):
                # The cached token may have been revoked or expired early: exchange once more.
                retried_auth = True
                continue
            if resp.status_code == 429 and rate_rounds < self._rate_limit_rounds:
                rate_rounds += 1
                earlier_attempts += attempts
                time.sleep(http_session.retry_after_seconds(resp, default=1.0))
                continue
            break
        attempts += earlier_attempts
        if resp.status_code >= 300 or resp.status_code < 200:
            raise error_from_response(resp, operation=op, target=target or None,
                                      attempts=attempts)
        if not resp.content:
            return {}
        try:
            data = resp.json()
        except ValueError:
            raise SkyflowError(
                f"{op}: the response is not JSON", status=resp.status_code, operation=op,
                target=target or None, request_id=request_id_of(resp, None),
            ) from None
        if not isinstance(data, dict):
            return {"items": data}
        return data

    def _transport_error(self, exc: BaseException, op: str, target: str) -> TransportError:
        """No answer (after retries): a TLS failure with the fix, else the reason, no secret."""
        cause = getattr(exc, "reason", None) or exc
        where = f"{op} {target}".strip()
        if isinstance(cause, (urllib3.exceptions.SSLError, ssl.SSLError)):
            reason = str(cause) if isinstance(cause, http_session.CABundleError) else \
                http_session.transport_reason(cause)
            return TransportError(
                f"{where}: TLS verification of {self.base_url} failed ({reason})",
                operation=op, target=target or None,
                hint="For a private CA (such as the emulator's) set skyflow:caBundle / "
                "SKYFLOW_CA_BUNDLE or REQUESTS_CA_BUNDLE. Verification cannot be disabled.")
        return TransportError(
            f"{where}: no response from {self.base_url} "
            f"({http_session.transport_reason(cause)})",
            operation=op, target=target or None)

    def paginate(
        self,
        path: str,
        key: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        operation: str = "",
        target: str = "",
        max_items: int | None = None,
    ) -> list[Any]:
        """All items of a list endpoint (at most ``max_items``: one short page for a sample):
        offset/limit as strings, stop on a short page."""
        if max_items is not None:
            limit = min(limit, max_items)
        out: list[Any] = []
        for item in self.iter_pages(path, key, params, limit=limit, operation=operation,
                                    target=target):
            out.append(item)
            if max_items is not None and len(out) >= max_items:
                break
        return out

    def iter_pages(
        self,
        path: str,
        key: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        operation: str = "",
        target: str = "",
    ) -> Iterator[Any]:
        offset = 0
        for _ in range(MAX_PAGES):
            page_params = dict(params or {})
            page_params.update({"offset": str(offset), "limit": str(limit)})
            data = self.request("GET", path, params=page_params, operation=operation,
                                target=target)
            items = data.get(key) or []
            if not isinstance(items, list):
                raise SkyflowError(f"{operation or path}: '{key}' in the response is not a list",
                                   operation=operation)
            yield from items
            if len(items) < limit:
                return
            offset += len(items)
        raise SkyflowError(f"{operation or path}: more than {MAX_PAGES} pages; giving up",
                           operation=operation)

    def __reduce__(self) -> Any:
        raise TypeError(
            "ManagementClient must not be pickled (it holds credentials and live sessions); "
            "create it in the provider process, e.g. in configure() or a lazy property"
        )

    def __repr__(self) -> str:
        return (f"ManagementClient(url={self.base_url!r}, account_id="
                f"{self.settings.account_id!r}, auth={self.tokens.mode!r})")

    def close(self) -> None:
        """Close the pooled connections (a later call opens new ones)."""
        self._pool.clear()
