"""Management API calls straight through urllib3: one thread-safe pool set per client.

Why not a requests session here: a provider makes one API call per resource it reads or
deletes, and requests' per-call machinery (building and preparing a ``Request``, merging the
session's settings, cookie jars, hooks, building a ``Response``) cost ~0.3 ms of CPU per call on
top of urllib3's own ~0.25 ms: at N=1000 that was a quarter of the provider's CPU in a refresh
or a destroy (docs/performance.md). urllib3 is the transport requests itself uses, and the
policy stays ``transport``'s: the same retry objects (``make_retry``), the same process-wide
``SSLContext`` per trust setting (``TrustCache``), and the proxy environment (``HTTPS_PROXY``,
``NO_PROXY``) read once per host as requests reads it. Redirects are never followed (a bearer
token must not go to another location). The token exchange keeps its requests session: it is
one call per process, and its public API accepts a caller's session.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import urllib3
from requests.utils import get_environ_proxies, select_proxy
from urllib3.util import Timeout, make_headers
from urllib3.util.retry import Retry

from .transport import DEFAULT_TIMEOUT, PerHost, TrustCache, attempts_from

USER_AGENT = "skyflow-pulumi/0.1 (+urllib3)"
NUM_POOLS = 4  # hosts kept per manager: the Management API (and a proxy) in practice


@dataclass(frozen=True)
class Reply:
    """What the client and ``errors.error_from_response`` read of an HTTP response."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes
    attempts: int = 1  # HTTP attempts urllib3 made (1 = no retry)

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


def to_timeout(timeout: Any) -> Timeout:
    """A urllib3 Timeout from requests' forms: a number, or (connect, read)."""
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    if isinstance(timeout, (tuple, list)):
        connect, read = timeout
        return Timeout(connect=connect, read=read)
    return Timeout(connect=timeout, read=timeout)


class ApiPool:
    """Keep-alive HTTPS connections for one client, shared by every thread calling it.

    One ``PoolManager`` per (SSLContext, proxy): the context comes from ``TrustCache`` (a
    replaced CA file gets a new context, hence new connections, within ``RECHECK_S``), the
    proxy from the environment, looked up once per scheme and host.
    """

    def __init__(self, ca_bundle: str | None = None, *, maxsize: int = 10) -> None:
        self.trust = TrustCache(ca_bundle)
        self.maxsize = maxsize
        self._proxies = PerHost(lambda url: select_proxy(url, get_environ_proxies(url)) or None)
        self._managers: dict[tuple[ssl.SSLContext | None, str | None], urllib3.PoolManager] = {}
        self._lock = threading.Lock()

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
        resp = self._manager(url).urlopen(
            method, url, body=body, headers={"User-Agent": USER_AGENT, **headers},
            retries=retry, redirect=False, timeout=to_timeout(timeout), preload_content=True)
        return Reply(resp.status, resp.headers, resp.data, attempts_from(resp.retries))

    def clear(self) -> None:
        """Close every pooled connection (they reopen on the next call)."""
        with self._lock:
            managers, self._managers = list(self._managers.values()), {}
        for manager in managers:
            manager.clear()
