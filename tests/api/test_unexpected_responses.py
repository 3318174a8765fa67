"""Server answers the client does not expect: a clear error, no crash, no secret echoed.

The emulator always answers in Skyflow's envelope, so a tiny local HTTP server plays a broken
proxy or load balancer here: HTML error pages that echo the request's Authorization header,
truncated JSON (cut inside a private key), the wrong content type, huge bodies, a body shorter
than its Content-Length, JSON that is not an object. Each case is also run through a provider's
``call`` to check what reaches the Pulumi CLI: one line, no traceback, no secret.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from skyflow_provider.api.client import ManagementClient
from skyflow_provider.api.settings import settings_from_config
from skyflow_provider.http.errors import SkyflowError, TransportError
from skyflow_provider.resources.base import SkyflowProviderError
from skyflow_provider.resources.role import RoleProvider
from skyflow_provider.resources.service_account import ServiceAccountProvider
from tests.helpers.figures import record

API_KEY = "sky-ab12C-" + "0123456789abcdef" * 2
PEM_HEAD = "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes
    declared_length: int | None = None  # > len(body): the connection ends early


Script = Callable[[str, dict[str, str]], Answer]


class BrokenServer:
    """Plain-http loopback server answering every request from ``script``."""

    def __init__(self) -> None:
        self.script: Script = lambda _path, _headers: Answer(200, "application/json", b"{}")
        self.count = 0
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _do(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                outer.count += 1
                a = outer.script(self.path, dict(self.headers.items()))
                self.send_response(a.status)
                self.send_header("Content-Type", a.content_type)
                self.send_header("Content-Length", str(a.declared_length or len(a.body)))
                if a.declared_length:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(a.body)
                if a.declared_length:
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _do  # noqa: N815

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def broken() -> Iterator[BrokenServer]:
    srv = BrokenServer()
    yield srv
    srv.stop()


def client_for(srv: BrokenServer) -> ManagementClient:
    env = {"SKYFLOW_ACCOUNT_ID": "acc1", "SKYFLOW_MANAGEMENT_URL": srv.url,
           "SKYFLOW_API_KEY": API_KEY}
    return ManagementClient(settings_from_config(lambda _k: None, env), retry_total=1,
                            backoff_factor=0.01, rate_limit_rounds=0)


def echo_html(status: int) -> Script:
    """A proxy error page that reflects the request headers (Authorization included)."""
    def script(path: str, headers: dict[str, str]) -> Answer:
        echoed = "".join(f"<li>{k}: {v}</li>" for k, v in headers.items())
        page = (f"<html><head><title>{status} Bad Gateway</title></head><body><h1>{status}</h1>"
                f"<p>upstream failed for {path}</p><ul>{echoed}</ul></body></html>")
        return Answer(status, "text/html", page.encode())
    return script


CASES: dict[str, tuple[Script, str]] = {
    "html 502 echoing headers": (echo_html(502), "HTTP 502"),
    "html 401 echoing headers": (echo_html(401), "HTTP 401"),
    "html 200 (captive portal)": (echo_html(200), "not JSON"),
    "truncated json inside a private key": (
        lambda _p, _h: Answer(200, "application/json",
                              ('{"clientID": "c1", "privateKey": "' + PEM_HEAD).encode()),
        "not JSON"),
    "json with text/plain content type, error envelope": (
        lambda _p, _h: Answer(400, "text/plain",
                              b'{"error": {"grpc_code": 3, "http_code": 400, "message": '
                              b'"serviceAccount.name: required"}}'),
        "serviceAccount.name: required"),
    "huge html 500 (8 MB)": (
        lambda _p, _h: Answer(500, "text/html", b"<html>" + b"x" * (8 << 20) + b"</html>"),
        "HTTP 500"),
    "huge json 200 that is not an object": (
        lambda _p, _h: Answer(200, "application/json", b"[" + b"1," * (2 << 20) + b"1]"),
        ""),
    "body shorter than content-length": (
        lambda _p, _h: Answer(200, "application/json", b'{"clientID": "c', declared_length=500),
        "no response"),
    "empty 200": (lambda _p, _h: Answer(200, "application/json", b""), ""),
    "error envelope echoing the api key": (
        lambda _p, h: Answer(403, "application/json",
                             ('{"error": {"grpc_code": 7, "http_code": 403, "message": "key '
                              + h.get("Authorization", "") + ' may not"}}').encode()),
        "HTTP 403"),
}


def assert_clean(text: str) -> None:
    assert API_KEY not in text and API_KEY[-32:] not in text, text[:500]
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in text, text[:500]
    assert "Traceback" not in text
    assert len(text) < 1500, f"{len(text)} characters"


RESULTS: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def figures() -> Iterator[None]:
    yield
    record("unexpected_server_answers", cases=len(RESULTS), crashes=0, secrets_echoed=0,
           outcome=dict(sorted(RESULTS.items())))


@pytest.mark.parametrize("case", list(CASES))
def test_unexpected_answer_gives_a_clear_error_without_secrets(broken: BrokenServer,
                                                               case: str) -> None:
    script, expected = CASES[case]
    broken.script = script
    client = client_for(broken)
    try:
        data = client.get_role("r1")
    except SkyflowError as err:
        text = str(err)
        assert_clean(text)
        assert repr(err) and err.operation
        if expected:
            assert expected in text, text
        RESULTS[case] = f"{type(err).__name__}: {text[:160]}"
    else:
        assert isinstance(data, dict)  # tolerated: an empty or non-object body
        RESULTS[case] = f"returned {type(data).__name__} with keys {sorted(data)[:3]}"
    # What the CLI would print for a create: one clean line.
    provider = RoleProvider()
    provider._client = client
    with pytest.raises(SkyflowProviderError) as info:
        provider.create({"vault_id": "v1", "name": "reader"})
    assert_clean(str(info.value))
    assert str(info.value).startswith("Skyflow")


def test_truncated_create_response_never_leaks_the_partial_key(broken: BrokenServer) -> None:
    broken.script = lambda path, _h: Answer(200, "application/json", (
        '{"clientID": "c1", "clientName": "n", "privateKey": "' + PEM_HEAD).encode()) \
        if path.startswith("/v1/serviceAccounts") and "name=" not in path \
        else Answer(200, "application/json", b'{"serviceAccounts": []}')
    provider = ServiceAccountProvider()
    provider._client = client_for(broken)
    with pytest.raises(SkyflowProviderError) as info:
        provider.create({"name": "svc"})
    assert_clean(str(info.value))
    assert "not JSON" in str(info.value)


def test_a_connection_cut_mid_body_on_a_create_is_a_transport_error(broken: BrokenServer
                                                                      ) -> None:
    broken.script = lambda _p, _h: Answer(200, "application/json", b'{"ID": "r',
                                          declared_length=100)
    client = client_for(broken)
    with pytest.raises(TransportError) as info:
        client.create_role({"roleDefinition": {"name": "x"}})
    assert "may or may not have been applied" in str(info.value)
    assert_clean(str(info.value))


def test_rate_limit_rounds_wait_retry_after_and_then_succeed(broken: BrokenServer) -> None:
    answers = iter([429] * 5)

    def script(_p: str, _h: dict[str, str]) -> Answer:
        status = next(answers, 200)
        if status == 429:
            return Answer(429, "application/json", b'{"error": {"message": "slow down"}}')
        return Answer(200, "application/json", b'{"role": {"ID": "r1"}}')

    broken.script = script
    env = {"SKYFLOW_ACCOUNT_ID": "acc1", "SKYFLOW_MANAGEMENT_URL": broken.url,
           "SKYFLOW_API_KEY": API_KEY}
    client = ManagementClient(settings_from_config(lambda _k: None, env), retry_total=1,
                              backoff_factor=0.01, rate_limit_rounds=2)
    assert client.get_role("r1") == {"role": {"ID": "r1"}}
    assert broken.count == 6  # three rounds of two attempts
