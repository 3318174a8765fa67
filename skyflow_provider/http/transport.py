"""requests sessions with pooling, timeouts, TLS trust and urllib3 retries.

Retry policy (see docs/client.md):

* 429 is retried for every method: the server refused the request without processing it.
* 502/503/504 and read errors are retried only for idempotent calls. The caller decides what
  is idempotent (``build_session(idempotent=...)``): GET/DELETE and full-replacement
  PUT/PATCH are; POSTs (create, assign) and key rotations (PUT .../rotate) are not, because
  repeating them after a lost response creates or rotates twice.
* Connection failures (nothing was sent) are retried for every method.
* Backoff is exponential with jitter; a ``Retry-After`` header is honoured (capped).
"""

from __future__ import annotations

import atexit
import os
import random
import re
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import certifi
import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.sessions import merge_setting
from requests.utils import get_environ_proxies, get_netrc_auth
from urllib3.util.retry import Retry

RETRY_STATUSES = frozenset({429, 502, 503, 504})
# The caller marks a call idempotent by choosing the session; then any method may be retried.
ALL_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "POST"})
DEFAULT_TIMEOUT = (10.0, 60.0)  # (connect, read) seconds
_NO_METHODS = frozenset({"-NONE-"})  # an empty allowlist would mean "all methods" to urllib3


class SkyflowRetry(Retry):
    """urllib3 Retry: 429 for any method, other statuses only when methods allow it.

    Unlike stock urllib3, the first retry also waits (``backoff_factor`` plus jitter), so a
    burst of 429s is not answered with an immediate second burst.
    """

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code == 429 and self.total:
            return True
        return super().is_retry(method, status_code, has_retry_after)

    def get_backoff_time(self) -> float:
        n = len(self.history)
        if n == 0:
            return 0.0
        value = self.backoff_factor * (2 ** (n - 1))
        if self.backoff_jitter:
            value += random.random() * self.backoff_jitter  # noqa: S311 - jitter, not crypto
        return float(max(0.0, min(self.backoff_max, value)))


def make_retry(
    *,
    idempotent: bool,
    total: int = 5,
    backoff_factor: float = 0.5,
    backoff_max: float = 20.0,
    retry_after_max: int = 60,
) -> SkyflowRetry:
    """The retry policy for idempotent or non-idempotent calls."""
    return SkyflowRetry(
        total=total,
        connect=3,
        read=2 if idempotent else 0,
        redirect=0,
        status=total,
        other=0,
        allowed_methods=ALL_METHODS if idempotent else _NO_METHODS,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff_factor,
        backoff_jitter=backoff_factor,
        backoff_max=backoff_max,
        retry_after_max=retry_after_max,
        raise_on_status=False,
        raise_on_redirect=False,
        respect_retry_after_header=True,
    )


class CABundleError(urllib3.exceptions.SSLError):
    """The trust store could not be loaded (an unreadable or certificate-free CA file)."""


class TrustCache:
    """``ssl_context_for(ca_bundle)``, its files checked at most once per ``RECHECK_S``.

    The lookup resolves the bundle path and stats both trust files (~0.5 ms under load); a
    client asks for it on every request, so reusing it for a second takes that off each call,
    while a replaced CA file is still picked up within a second. A change of
    ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` (two dict lookups) is seen at once.
    """

    #: how long a looked-up context is reused before the trust files are checked again
    RECHECK_S = 1.0

    def __init__(self, ca_bundle: str | None = None) -> None:
        self.ca_bundle = ca_bundle or None
        self._context: tuple[ssl.SSLContext, float, tuple[str | None, ...]] | None = None

    def context(self) -> ssl.SSLContext:
        """The context; ``CABundleError`` naming the cause when a trust file cannot be loaded."""
        now = time.monotonic()
        env = (os.environ.get("REQUESTS_CA_BUNDLE"), os.environ.get("CURL_CA_BUNDLE"))
        cached = self._context
        if cached is not None and now - cached[1] < self.RECHECK_S and cached[2] == env:
            return cached[0]
        try:
            ctx = ssl_context_for(self.ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            raise CABundleError(
                f"could not load the CA bundle ({type(exc).__name__}: "
                f"{getattr(exc, 'strerror', None) or exc})") from None
        self._context = (ctx, now, env)
        return ctx


class PerHost:
    """``lookup(url)`` answered once per scheme and host, then remembered.

    For what requests reads from the process environment on every request (proxy variables,
    ``~/.netrc``): the environment of a provider process does not change under it.
    """

    def __init__(self, lookup: Callable[[str], Any]) -> None:
        self._lookup = lookup
        self._seen: dict[tuple[str, str], Any] = {}

    def __call__(self, url: str) -> Any:
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        if key not in self._seen:
            self._seen[key] = self._lookup(url)
        return self._seen[key]


class TrustedAdapter(HTTPAdapter):
    """An HTTPAdapter whose TLS trust comes only from one shared ``SSLContext``.

    requests hands urllib3 a CA bundle *path* per request, so every new TLS connection builds
    a fresh SSLContext and parses the whole bundle (~150 certificates, 20-40 ms). Here the
    context for the adapter's trust setting (``ssl_context_for(ca_bundle)``: the default store
    plus ``ca_bundle``, through a ``TrustCache``) is built once per process and passed to
    urllib3 as ``ssl_context``; no CA path reaches urllib3, so nothing is loaded per connection.

    The per-request ``verify`` (the caller's, ``Session.verify``, or ``REQUESTS_CA_BUNDLE``
    merged in by requests from the environment) is ignored: verification cannot be turned
    off or pointed at another store per request. ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``
    still choose the default store, read when the context is looked up (see
    ``ssl_context_for``), as documented in docs/client.md.
    """

    def __init__(self, ca_bundle: str | None = None, **kwargs: Any) -> None:
        self.trust = TrustCache(ca_bundle)
        super().__init__(**kwargs)

    def build_connection_pool_key_attributes(
        self, request: Any, verify: Any, cert: Any = None
    ) -> Any:
        host_params, base_kwargs = super().build_connection_pool_key_attributes(
            request, True, None)
        pool_kwargs: dict[str, Any] = dict(base_kwargs)
        for k in ("ca_certs", "ca_cert_dir", "cert_file", "key_file"):
            pool_kwargs.pop(k, None)
        if host_params["scheme"] == "https":
            try:
                pool_kwargs["ssl_context"] = self.trust.context()
            except CABundleError as exc:
                raise requests.exceptions.SSLError(str(exc), request=request) from None
        pool_kwargs["cert_reqs"] = "CERT_REQUIRED"
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        # Trust comes from the pool's ssl_context; never hand urllib3 a bundle path to load.
        conn.cert_reqs = "CERT_REQUIRED"
        conn.ca_certs = None
        conn.ca_cert_dir = None

    def send(self, request: Any, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> Any:
        return super().send(request, stream=stream, timeout=timeout, verify=True, cert=None,
                            proxies=proxies)


class EnvCachedSession(requests.Session):
    """A session that reads the proxy environment and ``~/.netrc`` once per scheme and host,
    not per request.

    With ``trust_env`` (kept, so HTTPS_PROXY / NO_PROXY and netrc work), requests walks the
    whole environment on every request to find proxy variables (~0.5 ms of CPU per call here,
    about a third of a keep-alive API call in the client) and looks for a netrc file (two
    stats). The environment of a provider process does not change under it, so both answers
    are kept per (scheme, host) for the session's life. Request-level proxies, stream, verify,
    cert and auth merge exactly as in requests.
    """

    def __init__(self) -> None:
        super().__init__()
        self._env_proxies = PerHost(lambda url: dict(get_environ_proxies(url)))
        self._netrc = PerHost(lambda url: get_netrc_auth(url))

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        if not self.trust_env or request.auth or self.auth:
            return super().prepare_request(request)
        netrc = self._netrc(str(request.url))
        if netrc is not None:
            request.auth = netrc
        # trust_env only decides the netrc lookup in prepare_request, done above; the session
        # belongs to one thread, so flipping it for this call is not seen elsewhere.
        self.trust_env = False
        try:
            return super().prepare_request(request)
        finally:
            self.trust_env = True

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> Any:
        if not self.trust_env or (proxies or {}).get("no_proxy") is not None:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        proxies = dict(proxies or {})
        for k, v in self._env_proxies(str(url)).items():
            proxies.setdefault(k, v)
        # verify: requests would read REQUESTS_CA_BUNDLE here; TrustedAdapter ignores the
        # per-request verify (trust comes from its SSLContext), so it is merged as given.
        return {"proxies": merge_setting(proxies, self.proxies),
                "stream": merge_setting(stream, self.stream),
                "verify": merge_setting(verify, self.verify),
                "cert": merge_setting(cert, self.cert)}


def build_session(
    *,
    idempotent: bool,
    ca_bundle: str | None = None,
    retry: Retry | None = None,
    pool_maxsize: int = 10,
) -> requests.Session:
    """A session whose adapter retries per the policy above. TLS verification stays on.

    Trust is the default store plus ``ca_bundle`` (see ``ssl_context_for``), from one
    ``SSLContext`` per trust setting shared by every connection of every session.
    """
    session = EnvCachedSession()
    adapter = TrustedAdapter(
        ca_bundle,
        max_retries=retry if retry is not None else make_retry(idempotent=idempotent),
        pool_connections=4,
        pool_maxsize=pool_maxsize,
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.verify = True
    session.headers["User-Agent"] = "skyflow-pulumi/0.1 (+python-requests)"
    return session


_REASON_RE = re.compile(
    r"(\[Errno -?\d+\] [^'\")]+|CERTIFICATE_VERIFY_FAILED[^'\")]*|hostname [^'\")]+"
    r"|timed out|Read timed out|Name or service not known|Connection refused)"
)


def transport_reason(exc: BaseException) -> str:
    """A short, secret-free reason for a transport failure ("[Errno 111] Connection refused")."""
    text = str(exc)
    m = _REASON_RE.search(text)
    reason = m.group(1).strip() if m else ""
    return f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__


def retry_after_seconds(response: Any, default: float = 1.0,
                        cap: float = 60.0) -> float:
    """The response's ``Retry-After`` in seconds (delta form), capped; ``default`` if absent."""
    raw = (response.headers.get("Retry-After") or "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        value = default
    return max(0.0, min(cap, value))


def attempts_of(response: requests.Response) -> int:
    """How many HTTP attempts urllib3 made for this response (1 = no retry)."""
    return attempts_from(getattr(getattr(response, "raw", None), "retries", None))


def attempts_from(retries: Any) -> int:
    """HTTP attempts made, from the ``Retry`` urllib3 left on its response (None: one)."""
    history = getattr(retries, "history", None) or ()
    return len(history) + 1


# ---------------------------------------------------------------------------------------------
# CA bundles: an extra CA (the emulator's, a corporate proxy's) is added to the default trust
# store rather than replacing it, so one setting works for both the emulator and real Skyflow.

_bundle_lock = threading.Lock()
_bundles: dict[tuple[str, str, float, float], str] = {}
_bundle_dir: str | None = None


def _default_bundle() -> str:
    env = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if env and os.path.isfile(env):
        return env
    return str(certifi.where())


def _cleanup() -> None:
    for path in list(_bundles.values()):
        try:
            os.unlink(path)
        except OSError:
            pass
    if _bundle_dir:
        try:
            os.rmdir(_bundle_dir)
        except OSError:
            pass


def resolve_verify(ca_bundle: str | None) -> str | bool:
    """The ``verify`` argument for requests: True, or a bundle file = defaults + ``ca_bundle``.

    Never returns False: TLS verification cannot be turned off.
    """
    if not ca_bundle:
        return True
    extra = str(Path(ca_bundle).expanduser().resolve())
    base = _default_bundle()
    try:
        key = (base, extra, os.path.getmtime(base), os.path.getmtime(extra))
    except OSError:
        return extra  # let requests report the unreadable file
    global _bundle_dir
    with _bundle_lock:
        cached = _bundles.get(key)
        if cached and os.path.exists(cached):
            return cached
        if _bundle_dir is None:
            _bundle_dir = tempfile.mkdtemp(prefix="skyflow-ca-")
            atexit.register(_cleanup)
        data = Path(base).read_bytes().rstrip(b"\n") + b"\n" + Path(extra).read_bytes()
        fd, path = tempfile.mkstemp(suffix=".pem", dir=_bundle_dir)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        _bundles[key] = path
        return path


def request_kwargs(timeout: Any = None) -> dict[str, Any]:
    """Per-request keyword arguments: timeouts, and ``verify=True``.

    ``verify`` is passed on every request, not only set on the session. With
    ``TrustedAdapter`` the trust store itself comes from the adapter's shared SSLContext.
    """
    return {"timeout": timeout if timeout is not None else DEFAULT_TIMEOUT, "verify": True}


# ---------------------------------------------------------------------------------------------
# One SSLContext per trust setting, shared by every connection (and thread) of the process.

_context_lock = threading.Lock()
_contexts: dict[tuple[str, float, str, float], ssl.SSLContext] = {}


def _trust_key(ca_bundle: str | None) -> tuple[str, float, str, float]:
    """(default store, its mtime, extra bundle, its mtime): a changed file gets a new context.

    Raises OSError when a file cannot be read.
    """
    base = _default_bundle()
    extra = str(Path(ca_bundle).expanduser().resolve()) if ca_bundle else ""
    return (base, os.path.getmtime(base), extra, os.path.getmtime(extra) if extra else 0.0)


def _build_context(base: str, extra: str) -> ssl.SSLContext:
    """Verification and hostname checks on; trust = ``base`` (+ ``extra``, added to it)."""
    ctx = ssl.create_default_context(cafile=base)
    if extra:
        ctx.load_verify_locations(cafile=extra)
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def ssl_context_for(ca_bundle: str | None) -> ssl.SSLContext:
    """The process-wide SSLContext for a trust setting (thread-safe, built once).

    Trust is the default store -- ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` when set to a
    file (read on every call, as requests does), else certifi's -- plus ``ca_bundle`` when
    given, which is added to the store rather than replacing it. Raises OSError for an
    unreadable file and ssl.SSLError for one that holds no usable certificate.
    """
    key = _trust_key(ca_bundle)
    ctx = _contexts.get(key)
    if ctx is not None:
        return ctx
    with _context_lock:
        ctx = _contexts.get(key)
        if ctx is None:
            ctx = _contexts[key] = _build_context(key[0], key[2])
        return ctx
