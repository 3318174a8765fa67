"""Direct (no proxy) Management API calls on the standard library's ``http.client``.

Why not urllib3 for these: a provider makes one API call per resource it reads or deletes, and
urllib3's per-call machinery (``PoolManager`` key lookup, ``HTTPConnectionPool.urlopen``, its
``HTTPResponse``, header dicts) cost ~0.3 ms of CPU per call on top of ``http.client``'s own
~0.3 ms here (docs/performance.md, "The client on http.client"): at N=1000 that was most of what
the dynamic form spent per resource above the floor + 1 call. ``http.client`` is what urllib3
itself sends with, so the bytes on the wire are the same.

The policy is unchanged and stays urllib3's: the caller's ``Retry`` decides what is retried
(``Retry.is_retry`` / ``increment`` / ``sleep``, with the same error classes urllib3 raises, so
``MaxRetryError.reason`` and the read-error rule for non-idempotent calls hold), TLS trust is
the caller's ``SSLContext`` (hostname checked), redirects are never followed, and a kept-alive
connection the server has closed is dropped before it is reused, as urllib3 does. Proxied
calls do not come here (``pool.ApiPool`` sends them through urllib3's proxy managers).
"""

from __future__ import annotations

import http.client
import ssl
import threading
from collections import deque
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import urlsplit

from urllib3 import HTTPResponse
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util.retry import Retry
from urllib3.util.wait import wait_for_read

Conn = http.client.HTTPConnection
Key = tuple[str, str, int, "ssl.SSLContext | None"]
Timeouts = tuple[float | None, float | None]  # (connect, read) seconds; None: no limit


class DirectPool:
    """Idle kept-alive connections per (scheme, host, port, TLS context), shared by threads.

    A call takes an idle connection (or opens one) and gives it back when its response is
    read, so there are never more connections than calls that ran at once, and none is
    opened and thrown away under a burst (urllib3's pool of 10 did that for the plugin's 32
    threads). ``deque`` append/pop are atomic, so taking and giving back need no lock.
    """

    def __init__(self) -> None:
        self._idle: dict[Key, deque[Conn]] = {}
        self._lock = threading.Lock()
        #: connections opened so far (tests: kept-alive means this stays small)
        self.opened = 0

    def _take(self, key: Key, timeout: Timeouts) -> Conn:
        idle = self._idle.get(key)
        if idle is None:
            idle = self._new_key(key)
        while True:
            try:
                conn = idle.pop()
            except IndexError:
                return self._open(key, timeout)
            sock = conn.sock
            if sock is not None and not wait_for_read(sock, timeout=0.0):
                sock.settimeout(timeout[1])
                return conn
            conn.close()  # closed by the server while idle (or it sent something unasked)

    def _new_key(self, key: Key) -> deque[Conn]:
        """A new key; idle connections of the same host under an older TLS context close."""
        with self._lock:
            idle = self._idle.get(key)
            if idle is not None:
                return idle
            for old in [k for k in self._idle if k[:3] == key[:3]]:
                for conn in self._idle.pop(old):
                    conn.close()
            idle = self._idle[key] = deque()
            return idle

    def _open(self, key: Key, timeout: Timeouts) -> Conn:
        scheme, host, port, context = key
        connect_timeout = timeout[0]
        conn: Conn
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=connect_timeout,
                                               context=context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=connect_timeout)
        try:
            conn.connect()
        except (ssl.SSLError, ssl.CertificateError) as exc:
            conn.close()
            raise SSLError(exc) from exc
        except TimeoutError as exc:
            conn.close()
            raise ConnectTimeoutError(
                None, f"Connection to {host} timed out. (connect timeout={connect_timeout})"
            ) from exc
        except OSError as exc:
            conn.close()
            raise NewConnectionError(cast(Any, None),
                                     f"Failed to establish a new connection: {exc}") from exc
        assert conn.sock is not None
        conn.sock.settimeout(timeout[1])
        self.opened += 1
        return conn

    def _give_back(self, key: Key, conn: Conn) -> None:
        idle = self._idle.get(key)
        if idle is None or conn.sock is None:  # cleared meanwhile, or the server closed it
            conn.close()
        else:
            idle.append(conn)

    def _once(self, key: Key, method: str, target: str, url: str, headers: Mapping[str, str],
              body: bytes | None, timeout: Timeouts) -> tuple[int, http.client.HTTPMessage,
                                                             bytes]:
        """One attempt: status, headers, body; urllib3's exception for a failure."""
        conn = self._take(key, timeout)
        try:
            conn.request(method, target, body=body, headers=dict(headers))
            resp = conn.getresponse()
            data = resp.read()
        except TimeoutError as exc:
            conn.close()
            raise ReadTimeoutError(cast(Any, None), url,
                                   f"Read timed out. (read timeout={timeout[1]})"
                                   ) from exc
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            if isinstance(exc, ssl.SSLError):
                raise SSLError(exc) from exc
            raise ProtocolError("Connection aborted.", exc) from exc
        except BaseException:
            conn.close()
            raise
        if resp.will_close:
            conn.close()
        self._give_back(key, conn)
        return resp.status, resp.headers, data

    def send(self, key: Key, method: str, target: str, url: str, *,
             headers: Mapping[str, str], body: bytes | None, retry: Retry,
             timeout: Timeouts) -> tuple[int, http.client.HTTPMessage, bytes, Retry]:
        """The call with ``retry``'s retries, as urllib3's ``urlopen`` makes them.

        Returns the last answer and the ``Retry`` it came with (its history counts the
        attempts); raises ``MaxRetryError`` (``.reason`` the last error) or, for a read error
        that must not be retried, that error itself.
        """
        while True:
            try:
                status, head, data = self._once(key, method, target, url, headers, body,
                                                timeout)
            except (SSLError, ConnectTimeoutError, ReadTimeoutError, ProtocolError) as exc:
                retry = retry.increment(method, url, error=exc)
                retry.sleep()
                continue
            if not retry.is_retry(method, status, bool(head.get("Retry-After"))):
                return status, head, data, retry
            answer = HTTPResponse(body=b"", headers=dict(head.items()), status=status,
                                  preload_content=False)
            try:
                nxt = retry.increment(method, url, response=answer)
            except MaxRetryError:  # out of status retries: the last answer is the answer
                if retry.raise_on_status:
                    raise
                return status, head, data, retry
            retry = nxt
            retry.sleep(answer)

    def clear(self) -> None:
        """Close every idle connection; connections in use close when given back."""
        with self._lock:
            idles, self._idle = list(self._idle.values()), {}
        for idle in idles:
            while idle:
                idle.pop().close()


def split_target(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, request target) of an http(s) URL."""
    parts = urlsplit(url)
    scheme = parts.scheme
    port = parts.port or (443 if scheme == "https" else 80)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return scheme, parts.hostname or "", port, target


