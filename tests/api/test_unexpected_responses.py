"""Server answers the client does not expect: a clear error, no crash, no secret echoed.

The emulator always answers in Skyflow's envelope, so a tiny local HTTP server plays a broken
proxy or load balancer here: HTML error pages that echo the request's Authorization header,
truncated JSON (cut inside a private key), the wrong content type, huge bodies, a body shorter
than its Content-Length, JSON that is not an object. The client raises the specific
``SkyflowError`` subclass for each, except for a 200 it can read (empty, or JSON that is not an
object), which it returns as-is; each case is also run through a provider's ``create`` to check
what reaches the Pulumi CLI: the specific one-line error, no traceback, no secret. The figures
(tests/results/reliability.json) are written only when every case passed.
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
from skyflow_provider.http.errors import (
    InvalidArgumentError,
    PermissionDeniedError,
    ServerError,
    SkyflowError,
    TransportError,
    UnauthenticatedError,
)
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


@dataclass(frozen=True)
class Returns:
    """The client hands back a 200 it could read as-is; only the provider can refuse it."""

    value: Any


HUGE_ARRAY_LENGTH = (2 << 20) + 1
NO_ID = "create role returned no ID"

# case -> (the server's answer, what client.get_role does: raise (class, text) or Returns,
#          what the provider's create raises (text of the SkyflowProviderError))
CASES: dict[str, tuple[Script, tuple[type[SkyflowError], str] | Returns, str]] = {
    "html 502 echoing headers": (echo_html(502), (ServerError, "HTTP 502"), "HTTP 502"),
    "html 401 echoing headers": (echo_html(401), (UnauthenticatedError, "HTTP 401"),
                                 "HTTP 401"),
    "html 200 (captive portal)": (echo_html(200), (SkyflowError, "the response is not JSON"),
                                  "the response is not JSON"),
    "truncated json inside a private key": (
        lambda _p, _h: Answer(200, "application/json",
                              ('{"clientID": "c1", "privateKey": "' + PEM_HEAD).encode()),
        (SkyflowError, "the response is not JSON"), "the response is not JSON"),
    "json with text/plain content type, error envelope": (
        lambda _p, _h: Answer(400, "text/plain",
                              b'{"error": {"grpc_code": 3, "http_code": 400, "message": '
                              b'"serviceAccount.name: required"}}'),
        (InvalidArgumentError, "serviceAccount.name: required"), "serviceAccount.name: required"),
    "huge html 500 (8 MB)": (
        lambda _p, _h: Answer(500, "text/html", b"<html>" + b"x" * (8 << 20) + b"</html>"),
        (ServerError, "HTTP 500"), "HTTP 500"),
    "huge json 200 that is not an object": (
        lambda _p, _h: Answer(200, "application/json",
                              b"[" + b"1," * (HUGE_ARRAY_LENGTH - 1) + b"1]"),
        Returns({"items": [1] * HUGE_ARRAY_LENGTH}), NO_ID),
    "body shorter than content-length": (
        lambda _p, _h: Answer(200, "application/json", b'{"clientID": "c', declared_length=500),
        (TransportError, "no response"), "no response"),
    "empty 200": (lambda _p, _h: Answer(200, "application/json", b""), Returns({}), NO_ID),
    "error envelope echoing the api key": (
        lambda _p, h: Answer(403, "application/json",
                             ('{"error": {"grpc_code": 7, "http_code": 403, "message": "key '
                              + h.get("Authorization", "") + ' may not"}}').encode()),
        (PermissionDeniedError, "HTTP 403"), "HTTP 403"),
}


def assert_clean(text: str) -> None:
    assert API_KEY not in text and API_KEY[-32:] not in text, text[:500]
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in text, text[:500]
    assert "Traceback" not in text
    assert len(text) < 1500, f"{len(text)} characters"


#: case -> outcome, filled in by a case only after all of its assertions passed.
PASSED: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def figures() -> Iterator[None]:
    yield
    # Only from checks that ran and passed: every case, each one clean.
    if set(PASSED) == set(CASES):
        record("unexpected_server_answers", cases=len(CASES), cases_passed=len(PASSED),
               crashes=0, secrets_echoed=0, outcome=dict(sorted(PASSED.items())))


@pytest.mark.parametrize("case", list(CASES))
def test_unexpected_answer_gives_a_clear_error_without_secrets(broken: BrokenServer,
                                                               case: str) -> None:
    script, expected, provider_says = CASES[case]
    broken.script = script
    client = client_for(broken)
    if isinstance(expected, Returns):
        data = client.get_role("r1")
        assert data == expected.value
        outcome = f"returned {type(data).__name__} with keys {sorted(data)[:3]}"
    else:
        error_class, says = expected
        with pytest.raises(error_class) as err:
            client.get_role("r1")
        assert type(err.value) is error_class, type(err.value)
        text = str(err.value)
        assert_clean(text)
        assert says in text, text
        assert err.value.operation == "read role" and repr(err.value)
        outcome = f"{type(err.value).__name__}: {text[:160]}"
    # What the CLI would print for a create: one clean line.
    provider = RoleProvider()
    provider._client = client
    with pytest.raises(SkyflowProviderError) as info:
        provider.create({"vault_id": "v1", "name": "reader"})
    assert_clean(str(info.value))
    assert str(info.value).startswith("Skyflow") and provider_says in str(info.value), \
        str(info.value)
    PASSED[case] = outcome


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
