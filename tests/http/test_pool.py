"""The API client's urllib3 pool: query encoding as requests does it, the proxy environment read
once per host, kept-alive TLS connections to the real emulator, and transport failures turned
into errors that name the cause and the fix, never a secret."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
import urllib3
from urllib3.util.retry import Retry

from skyflow_provider.api.client import ManagementClient
from skyflow_provider.api.settings import settings_from_config
from skyflow_provider.http import pool as pool_mod
from skyflow_provider.http import transport
from skyflow_provider.http.errors import TransportError
from skyflow_provider.http.pool import ApiPool, Reply, encode_query, timeouts, to_timeout
from skyflow_provider.http.transport import make_retry
from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.moto_proc import free_port


def test_query_encoding_matches_requests() -> None:
    assert encode_query(None) == "" and encode_query({}) == ""
    assert encode_query({"a": "1", "skip": None, "b": ["x", "y"]}) == "a=1&b=x&b=y"
    assert encode_query([("name", "a b/c"), ("n", 2)]) == "name=a+b%2Fc&n=2"


def test_timeouts_in_requests_forms() -> None:
    t = to_timeout((3.0, 7.0))
    assert (t.connect_timeout, t.read_timeout) == (3.0, 7.0)
    t = to_timeout(5)
    assert (t.connect_timeout, t.read_timeout) == (5, 5)
    t = to_timeout(None)
    assert (t.connect_timeout, t.read_timeout) == (10.0, 60.0)
    assert timeouts(None) == (10.0, 60.0) and timeouts(4) == (4, 4)
    assert timeouts([2.0, 9.0]) == (2.0, 9.0)


def test_reply_json_errors_like_requests() -> None:
    assert Reply(200, {}, b'{"a": 1}').json() == {"a": 1}
    with pytest.raises(ValueError):
        Reply(502, {}, b"<html>bad gateway</html>").json()
    assert Reply(502, {}, b"\xffbad").text.endswith("bad")


def test_proxy_environment_read_once_per_host(
        monkeypatch: pytest.MonkeyPatch,
        proxy_lookups: Callable[[ModuleType], list[str]]) -> None:
    seen = proxy_lookups(pool_mod)
    monkeypatch.setenv("HTTPS_PROXY", "http://user:p%40ss@proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "skip.example")
    monkeypatch.delenv("no_proxy", raising=False)
    p = ApiPool()
    for path in ("/a", "/b"):
        assert p.proxy_for(f"https://api.example{path}") == \
            "http://user:p%40ss@proxy.example:3128"
    assert p.proxy_for("https://skip.example/x") is None  # NO_PROXY honoured
    assert len(seen) == 2  # one lookup per host, not per call
    manager = p._manager("https://api.example/a")
    assert isinstance(manager, urllib3.ProxyManager)
    assert manager.proxy is not None and manager.proxy.host == "proxy.example"
    # the proxy's credentials go to the proxy as Basic auth, decoded from the URL
    assert manager.proxy_headers["proxy-authorization"] == \
        urllib3.util.make_headers(proxy_basic_auth="user:p@ss")["proxy-authorization"]
    assert not isinstance(p._manager("https://skip.example/x"), urllib3.ProxyManager)


def test_connections_kept_alive_against_the_emulator(emu: EmulatorProcess) -> None:
    p = ApiPool(str(emu.ca_bundle))
    retry = make_retry(idempotent=True)
    for _ in range(10):
        r = p.send("GET", emu.url + "/v1/serviceAccounts", headers={}, retry=retry)
        assert r.status_code == 401 and r.attempts == 1  # TLS fine; no token
        assert "error" in r.json()
    assert p.direct.opened == 1  # one connection, kept alive for the ten calls
    assert not p._managers  # no proxy: urllib3's managers are not used
    p.clear()
    assert p.send("GET", emu.url + "/v1/serviceAccounts", headers={},
                  retry=retry).status_code == 401  # reopens after clear()
    assert p.direct.opened == 2


def test_a_connection_the_server_closed_is_not_reused(emu: EmulatorProcess) -> None:
    """An idle kept-alive connection the server has closed is dropped before the next call,
    so even a POST (never retried after a read error) goes out on a fresh one."""
    p = ApiPool(str(emu.ca_bundle))
    retry = make_retry(idempotent=False)
    assert p.send("GET", emu.url + "/v1/serviceAccounts", headers={},
                  retry=retry).status_code == 401
    (idle,) = [c for d in p.direct._idle.values() for c in d]
    assert idle.sock is not None
    idle.sock.shutdown(socket.SHUT_RD)  # what a server's close looks like from here
    r = p.send("POST", emu.url + "/v1/serviceAccounts", headers={}, body=b"{}", retry=retry)
    assert r.status_code == 401 and r.attempts == 1
    assert p.direct.opened == 2


def test_connections_are_not_churned_by_more_threads_than_urllib3_kept(
        emu: EmulatorProcess) -> None:
    """16 threads at once (the plugin serves up to 32): one connection per call in flight,
    each kept for the next call, none opened and thrown away."""
    p = ApiPool(str(emu.ca_bundle))
    retry = make_retry(idempotent=True)
    barrier = threading.Barrier(16)
    codes: list[int] = []

    def work() -> None:
        barrier.wait()
        for _ in range(5):
            codes.append(p.send("GET", emu.url + "/v1/serviceAccounts", headers={},
                                retry=retry).status_code)

    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [401] * 80
    assert 1 <= p.direct.opened <= 16
    assert sum(len(d) for d in p.direct._idle.values()) == p.direct.opened


def _client(emu: EmulatorProcess, **env: str) -> ManagementClient:
    base = {"SKYFLOW_ACCOUNT_ID": emu.account_id, "SKYFLOW_CA_BUNDLE": str(emu.ca_bundle),
            "SKYFLOW_MANAGEMENT_URL": emu.url}
    return ManagementClient(settings_from_config(lambda _k: None, {**base, **env}),
                            backoff_factor=0.01, retry_total=1)


def test_untrusted_server_is_a_tls_error_with_the_fix(emu: EmulatorProcess,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    c = _client(emu, SKYFLOW_BEARER_TOKEN="eyJhbGciOiJub25lIn0.e30.c2VjcmV0LXRva2Vu")
    c._pool = ApiPool(None)  # the default store only: the emulator's CA is not in it
    with pytest.raises(TransportError) as info:
        c.get_service_account("abc")
    text = str(info.value)
    assert "TLS verification of " + emu.url in text and "CERTIFICATE_VERIFY_FAILED" in text
    assert "skyflow:caBundle" in text and "c2VjcmV0LXRva2Vu" not in text


def test_unreadable_ca_bundle_is_a_tls_error(emu: EmulatorProcess, tmp_path: Any) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    c = _client(emu, SKYFLOW_BEARER_TOKEN="eyJhbGciOiJub25lIn0.e30.c2VjcmV0LXRva2Vu")
    c._pool = ApiPool(str(bad))
    with pytest.raises(TransportError) as info:
        c.get_service_account("abc")
    assert "TLS verification" in str(info.value) and "CA bundle" in str(info.value)


def test_nothing_listening_is_no_response_naming_the_cause(emu: EmulatorProcess) -> None:
    url = f"https://127.0.0.1:{free_port()}"
    c = _client(emu, SKYFLOW_MANAGEMENT_URL=url,
                SKYFLOW_BEARER_TOKEN="eyJhbGciOiJub25lIn0.e30.c2VjcmV0LXRva2Vu")
    with pytest.raises(TransportError) as info:
        c.get_service_account("abc")
    text = str(info.value)
    assert f"no response from {url}" in text and "Connection refused" in text
    assert "c2VjcmV0LXRva2Vu" not in text and info.value.__cause__ is None


class _RawServer:
    """A plain-HTTP server that answers each request with the next scripted behaviour:
    ``(status, body)``, ``"drop"`` (read the request, close without an answer) or ``"hang"``
    (read it, answer nothing until the client gives up)."""

    def __init__(self, script: list[Any]) -> None:
        self.script = list(script)
        self.requests: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, _, buf = buf.partition(b"\r\n\r\n")
                length = int(next((line.split(b":")[1] for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length:")), b"0"))
                while len(buf) < length:
                    buf += conn.recv(65536)
                buf = buf[length:]
                self.requests.append(head.split(b"\r\n")[0])
                action = self.script.pop(0) if self.script else (200, b"{}")
                if action == "drop":
                    return
                if action == "hang":
                    time.sleep(2)
                    return
                status, body = action
                conn.sendall(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (status, len(body), body))

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw() -> Iterator[Callable[[list[Any]], _RawServer]]:
    servers: list[_RawServer] = []

    def make(script: list[Any]) -> _RawServer:
        servers.append(_RawServer(script))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def _fast(idempotent: bool) -> Retry:
    return make_retry(idempotent=idempotent, backoff_factor=0.0)


def test_dropped_answer_retried_only_when_idempotent(
        raw: Callable[[list[Any]], _RawServer]) -> None:
    srv = raw(["drop", "drop", (200, b'{"ok": true}')])
    r = ApiPool().send("GET", srv.url + "/v1/roles/r", headers={}, retry=_fast(True))
    assert (r.status_code, r.json(), r.attempts) == (200, {"ok": True}, 3)
    srv = raw(["drop", (200, b"{}")])
    with pytest.raises(urllib3.exceptions.ProtocolError):  # a create may have happened
        ApiPool().send("POST", srv.url + "/v1/serviceAccounts", headers={}, body=b"{}",
                       retry=_fast(False))
    assert len(srv.requests) == 1
    srv = raw(["drop"] * 5)
    with pytest.raises(urllib3.exceptions.MaxRetryError) as info:
        ApiPool().send("GET", srv.url + "/v1/roles/r", headers={}, retry=_fast(True))
    assert isinstance(info.value.reason, urllib3.exceptions.ProtocolError)
    assert len(srv.requests) == 3  # read=2: the first attempt and two retries


def test_read_timeout_is_urllib3s_error_and_retried_when_idempotent(
        raw: Callable[[list[Any]], _RawServer]) -> None:
    srv = raw(["hang", (204, b"")])
    r = ApiPool().send("DELETE", srv.url + "/v1/roles/r", headers={}, retry=_fast(True),
                       timeout=(1.0, 0.3))
    assert (r.status_code, r.attempts) == (204, 2)
    srv = raw(["hang"])
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        ApiPool().send("POST", srv.url + "/v1/roles", headers={}, body=b"{}",
                       retry=_fast(False), timeout=(1.0, 0.3))
    assert len(srv.requests) == 1


def test_status_retries_follow_the_policy(raw: Callable[[list[Any]], _RawServer]) -> None:
    srv = raw([(503, b"{}"), (200, b'{"a": 1}')])
    r = ApiPool().send("GET", srv.url + "/x", headers={}, retry=_fast(True))
    assert (r.status_code, r.json(), r.attempts) == (200, {"a": 1}, 2)
    srv = raw([(503, b"{}"), (200, b"{}")])
    r = ApiPool().send("POST", srv.url + "/x", headers={}, body=b"{}", retry=_fast(False))
    assert (r.status_code, r.attempts) == (503, 1)  # a create is not repeated after a 503
    srv = raw([(429, b"{}"), (201, b"{}")])
    r = ApiPool().send("POST", srv.url + "/x", headers={}, body=b"{}", retry=_fast(False))
    assert (r.status_code, r.attempts) == (201, 2)  # 429: refused unprocessed, so retried
    srv = raw([(503, b'{"last": 1}')] * 9)
    r = ApiPool().send("GET", srv.url + "/x", headers={},
                       retry=make_retry(idempotent=True, total=2, backoff_factor=0.0))
    assert (r.status_code, r.json(), r.attempts) == (503, {"last": 1}, 3)
    assert len(srv.requests) == 3
    assert [line.split(b" ")[0] for line in srv.requests] == [b"GET"] * 3


def test_a_new_trust_context_gets_new_connections(emu: EmulatorProcess) -> None:
    """A replaced CA file means a new SSLContext (TrustCache): the connections made under the
    old one are closed, not reused, so the new trust applies from the next call."""
    p = ApiPool(str(emu.ca_bundle))
    retry = make_retry(idempotent=True)
    url = emu.url + "/v1/serviceAccounts"
    assert p.send("GET", url, headers={}, retry=retry).status_code == 401
    (old,) = [c for d in p.direct._idle.values() for c in d]
    # what TrustCache does RECHECK_S after the CA file changed: a new context is built
    p.trust._context = None
    transport._contexts.clear()
    assert p.send("GET", url, headers={}, retry=retry).status_code == 401
    assert old.sock is None  # closed
    assert len(p.direct._idle) == 1 and p.direct.opened == 2
    (new,) = [c for d in p.direct._idle.values() for c in d]
    assert new is not old
