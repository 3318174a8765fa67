"""Typed errors for Skyflow calls, credentials and settings.

Each error says what failed (operation), on which object (target), what Skyflow said and the
request id to quote to Skyflow support, and what to do next. Messages are redacted: no error
ever carries a private key, API key or token, whatever the server echoed back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .redaction import redact_text


class SkyflowError(Exception):
    """Base class. Attributes are ``None`` when not applicable (e.g. no HTTP status)."""

    default_hint = ""

    def __init__(
        self,
        summary: str,
        *,
        status: int | None = None,
        grpc_code: int | None = None,
        skyflow_message: str | None = None,
        request_id: str | None = None,
        operation: str | None = None,
        target: str | None = None,
        hint: str | None = None,
        attempts: int | None = None,
    ) -> None:
        self.summary = redact_text(summary)
        self.status = status
        self.grpc_code = grpc_code
        self.skyflow_message = redact_text(skyflow_message) if skyflow_message else skyflow_message
        self.request_id = request_id
        self.operation = operation
        self.target = target
        self.hint = hint if hint is not None else self.default_hint
        self.attempts = attempts
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.summary]
        if self.skyflow_message:
            parts.append(f"Skyflow said: {self.skyflow_message}")
        meta = []
        if self.status is not None:
            meta.append(f"HTTP {self.status}")
        if self.grpc_code is not None:
            meta.append(f"grpc_code {self.grpc_code}")
        if self.request_id:
            meta.append(f"request id {self.request_id}")
        if self.attempts and self.attempts > 1:
            meta.append(f"after {self.attempts} attempts")
        if meta:
            parts.append("(" + ", ".join(meta) + ")")
        if self.hint:
            parts.append(self.hint)
        return redact_text(" ".join(_sentence(p) for p in parts))

    def __str__(self) -> str:
        return self._render()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._render()!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep errors picklable (multiprocessing, pytest-xdist) without re-running __init__ args.
        return (_rebuild, (type(self), self.__dict__.copy()))


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", ")", "?", "!")) else text + "."


def _rebuild(cls: type[SkyflowError], state: dict[str, Any]) -> SkyflowError:
    err = cls.__new__(cls)
    err.__dict__.update(state)
    Exception.__init__(err, err._render())
    return err


class UnauthenticatedError(SkyflowError):
    """HTTP 401: the token, API key or JWT assertion was refused."""

    default_hint = (
        "Check the credentials: the service account key may be expired, rotated or deleted, "
        "the token may have expired, or the account id may be wrong. Generate new credentials "
        "(rotate the key) if the key is no longer valid."
    )


class PermissionDeniedError(SkyflowError):
    """HTTP 403: authenticated, but the identity lacks a permission."""

    default_hint = (
        "The service account used by the provider lacks a permission for this operation: assign "
        "it a role that grants it (for account-level objects, ACCOUNT_ADMIN), or use a token "
        "without a restricting scope."
    )


class NotFoundError(SkyflowError):
    """HTTP 404: the object does not exist (or is not visible to this identity)."""

    default_hint = (
        "The object may have been deleted outside Pulumi or the id is wrong; run "
        "`pulumi refresh` to bring the state in line."
    )


class ConflictError(SkyflowError):
    """HTTP 409: a uniqueness or state conflict."""

    default_hint = (
        "An object with the same name may already exist: choose another name or import the "
        "existing object with `pulumi import`."
    )


class InvalidArgumentError(SkyflowError):
    """HTTP 400: Skyflow rejected the request body or parameters."""

    default_hint = "Fix the input values named in Skyflow's message and run again."


class RateLimitedError(SkyflowError):
    """HTTP 429 after retries ran out."""

    default_hint = (
        "Skyflow is rate limiting this account; wait a minute and run again, or lower the "
        "parallelism (`pulumi up --parallel 4`)."
    )


class ServerError(SkyflowError):
    """HTTP 5xx after retries ran out."""

    default_hint = (
        "Skyflow had a server-side problem; run again later. If it persists, contact Skyflow "
        "support with the request id."
    )


class TransportError(SkyflowError):
    """No usable HTTP response: DNS, connection, TLS or timeout failure."""

    default_hint = (
        "Check the management URL, network access and, for a private CA, skyflow:caBundle / "
        "SKYFLOW_CA_BUNDLE. A write that timed out may or may not have been applied: run "
        "`pulumi refresh` before retrying."
    )


class CredentialsError(SkyflowError, ValueError):
    """Bad credentials input (file, JSON, field). ``field`` names the offending field."""

    default_hint = ""

    def __init__(self, summary: str, *, field: str | None = None, hint: str | None = None) -> None:
        self.field = field
        super().__init__(summary, hint=hint)


class OptionsError(SkyflowError, ValueError):
    """Bad token options (ctx, role_ids, token_uri). ``field`` names the option."""

    def __init__(self, summary: str, *, field: str | None = None, hint: str | None = None) -> None:
        self.field = field
        super().__init__(summary, hint=hint)


class ConfigError(SkyflowError, ValueError):
    """Bad provider settings. Names both the stack config key and the environment variable."""

    def __init__(
        self,
        summary: str,
        *,
        key: str | None = None,
        env_var: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.key = key
        self.env_var = env_var
        if key or env_var:
            where = " / ".join(x for x in (f"stack config {key}" if key else "",
                                           f"env {env_var}" if env_var else "") if x)
            summary = f"{summary} [{where}]"
        super().__init__(summary, hint=hint)


STATUS_CLASSES: dict[int, type[SkyflowError]] = {
    400: InvalidArgumentError,
    401: UnauthenticatedError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitedError,
}


def class_for_status(status: int) -> type[SkyflowError]:
    """The exception class for an HTTP error status (5xx -> ServerError, other 4xx -> base)."""
    if status in STATUS_CLASSES:
        return STATUS_CLASSES[status]
    if status >= 500:
        return ServerError
    if status == 422:
        return InvalidArgumentError
    return SkyflowError


_REQUEST_ID_HEADERS = ("X-Request-ID", "X-Request-Id", "X-Skyflow-Request-ID", "Request-Id")


def request_id_of(resp: Any, body: Any) -> str | None:
    """The request id Skyflow support asks for: X-Request-ID header, else a body field."""
    for h in _REQUEST_ID_HEADERS:
        if resp.headers.get(h):
            return resp.headers[h]
    if isinstance(body, Mapping):
        for k in ("request_id", "requestId", "requestID"):
            if isinstance(body.get(k), str):
                return body[k]
    return None


def error_from_response(
    resp: Any,
    *,
    operation: str,
    target: str | None = None,
    attempts: int | None = None,
) -> SkyflowError:
    """Map ``{"error": {grpc_code, http_code, message}}`` (or googlerpcStatus) to an exception."""
    try:
        body: Any = resp.json()
    except ValueError:
        body = None
    message: str | None = None
    grpc_code: int | None = None
    if isinstance(body, Mapping):
        err = body.get("error")
        if isinstance(err, Mapping):
            message = err.get("message") if isinstance(err.get("message"), str) else None
            gc = err.get("grpc_code", err.get("code"))
            grpc_code = gc if isinstance(gc, int) else None
        elif isinstance(err, str):
            message = err
        if message is None and isinstance(body.get("message"), str):
            message = body["message"]
            gc = body.get("code")
            grpc_code = gc if isinstance(gc, int) else None
    if message is None and body is None and resp.text:  # not JSON: quote it (shortened)
        message = resp.text.strip()[:300] or None
    status = resp.status_code
    cls = class_for_status(status)
    what = f"{operation} failed" if operation else "request failed"
    if target:
        what = f"{operation} {target} failed" if operation else f"request for {target} failed"
    return cls(
        what,
        status=status,
        grpc_code=grpc_code,
        skyflow_message=message,
        request_id=request_id_of(resp, body),
        operation=operation,
        target=target,
        attempts=attempts,
    )
