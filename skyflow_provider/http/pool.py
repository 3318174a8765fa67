"""Management API calls: one thread-safe connection pool set per client.

Direct calls (no proxy, the usual case) go through ``direct.DirectPool`` on the standard
library's ``http.client``; proxied ones through urllib3's proxy managers (HTTP CONNECT and
SOCKS, with the proxy's credentials). Both take the same policy from ``transport``: the same
urllib3 ``Retry`` objects (``make_retry``), the same process-wide ``SSLContext`` per trust
setting (``TrustCache``), and the proxy environment (``HTTPS_PROXY``, ``NO_PROXY``) read once per
host as requests reads it. Redirects are never followed (a bearer token must not go to another
location).

Why not a requests session here: a provider makes one API call per resource it reads or
deletes, and requests' per-call machinery cost ~0.3 ms of CPU per call on top of urllib3's, and
urllib3's ~0.3 ms on top of ``http.client``'s (docs/performance.md): at N=1000 that was most of
the provider's CPU above the floor + 1 call in a refresh or a destroy. The token exchange keeps
its requests session: it is one call per process, and its public API accepts a caller's session.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import urllib3
from requests.utils import get_environ_proxies, select_proxy
from urllib3.util import Timeout, make_headers
from urllib3.util.retry import Retry

from .direct import DirectPool, split_target
from .transport import DEFAULT_TIMEOUT, PerHost, TrustCache, attempts_from

USER_AGENT = "skyflow-pulumi/0.1"
NUM_POOLS = 4  # hosts kept per manager: the Management API (and a proxy) in practice


@dataclass(frozen=True)
class Reply:
    """What the client and ``errors.error_from_response`` read of an HTTP response."""

    status_code: int
    headers: Mapping[str, str] | Message  # case-insensitive either way
    content: bytes
    attempts: int = 1  # HTTP attempts made (1 = no retry)

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not JSON (as ``requests.Response.json``)."""
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


def encode_query(params: Mapping[str, Any] | list[tuple[str, Any]] | None) -> str:
    """A query string as requests encodes one: lists repeat the key, None values are left out."""
    if not params:
        return ""
    items = params.items() if isinstance(params, Mapping) else params
    pairs: list[tuple[str, Any]] = []
    for key, value in items:
        values = value if isinstance(value, (list, tuple)) else [value]
        pairs += [(key, v) for v in values if v is not None]
    return urlencode(pairs)


def timeouts(timeout: Any) -> tuple[float | None, float | None]:
    """(connect, read) seconds from requests' forms: a number, or (connect, read)."""
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    if isinstance(timeout, (tuple, list)):
        connect, read = timeout
        return connect, read
    return timeout, timeout


def to_timeout(timeout: Any) -> Timeout:
    """A urllib3 Timeout from requests' forms (for the proxy managers)."""
    connect, read = timeouts(timeout)
    return Timeout(connect=connect, read=read)


class ApiPool:
    """Keep-alive HTTPS connections for one client, shared by every thread calling it.

    Direct calls share one ``DirectPool`` keyed by host and SSLContext; proxied calls one
    urllib3 ``ProxyManager`` per (SSLContext, proxy). The context comes from ``TrustCache`` (a
    replaced CA file gets a new context, hence new connections, within ``RECHECK_S``), the
    proxy from the environment, looked up once per scheme and host.
    """

    def __init__(self, ca_bundle: str | None = None, *, maxsize: int = 10) -> None:
        self.trust = TrustCache(ca_bundle)
        self.maxsize = maxsize
        self._proxies = PerHost(lambda url: select_proxy(url, get_environ_proxies(url)) or None)
        self._managers: dict[tuple[ssl.SSLContext | None, str | None], urllib3.PoolManager] = {}
        self._lock = threading.Lock()
        self.direct = DirectPool()

    def proxy_for(self, url: str) -> str | None:
        """The proxy requests would use for ``url`` (HTTP(S)_PROXY / ALL_PROXY / NO_PROXY)."""
        proxy: str | None = self._proxies(url)
        return proxy

    def _manager(self, url: str) -> urllib3.PoolManager:
        context = self.trust.context() if url.startswith("https:") else None
        proxy = self.proxy_for(url)
        key = (context, proxy)
        manager = self._managers.get(key)
        if manager is not None:
            return manager
        with self._lock:
            manager = self._managers.get(key)
            if manager is None:
                manager = self._managers[key] = self._new_manager(context, proxy)
            return manager

    def _new_manager(self, context: ssl.SSLContext | None,
                     proxy: str | None) -> urllib3.PoolManager:
        tls: dict[str, Any] = {"ssl_context": context, "cert_reqs": "CERT_REQUIRED"} \
            if context is not None else {}
        common: dict[str, Any] = {"num_pools": NUM_POOLS, "maxsize": self.maxsize, **tls}
        if not proxy:
            return urllib3.PoolManager(**common)
        if proxy.lower().startswith("socks"):
            from urllib3.contrib.socks import SOCKSProxyManager  # needs PySocks, as requests

            return SOCKSProxyManager(proxy, **common)
        parts = urlsplit(proxy)
        headers = make_headers(proxy_basic_auth=f"{unquote(parts.username)}:"
                               f"{unquote(parts.password or '')}") if parts.username else None
        return urllib3.ProxyManager(proxy, proxy_headers=headers, **common)

    def send(self, method: str, url: str, *, headers: Mapping[str, str],
             body: bytes | None = None, retry: Retry, timeout: Any = None) -> Reply:
        """One call (with ``retry``'s retries); raises urllib3's errors when none answered."""
        headers = {"User-Agent": USER_AGENT, **headers}
        if self.proxy_for(url) is None:
            scheme, host, port, target = split_target(url)
            context = self.trust.context() if scheme == "https" else None
            status, head, data, done = self.direct.send(
                (scheme, host, port, context), method, target, url, headers=headers,
                body=body, retry=retry, timeout=timeouts(timeout))
            return Reply(status, head, data, attempts_from(done))
        resp = self._manager(url).urlopen(
            method, url, body=body, headers=headers,
            retries=retry, redirect=False, timeout=to_timeout(timeout), preload_content=True)
        return Reply(resp.status, resp.headers, resp.data, attempts_from(resp.retries))

    def clear(self) -> None:
        """Close every pooled connection (they reopen on the next call)."""
        self.direct.clear()
        with self._lock:
            managers, self._managers = list(self._managers.values()), {}
        for manager in managers:
            manager.clear()
