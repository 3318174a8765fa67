"""The API client's urllib3 pool: query encoding as requests does it, the proxy environment read
once per host, kept-alive TLS connections to the real emulator, and transport failures turned
into errors that name the cause and the fix, never a secret."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
import urllib3

from skyflow_provider.api.client import ManagementClient
from skyflow_provider.api.settings import settings_from_config
from skyflow_provider.http import pool as pool_mod
from skyflow_provider.http.errors import TransportError
from skyflow_provider.http.pool import ApiPool, Reply, encode_query, to_timeout
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
    pools = [c for m in p._managers.values() for c in m.pools._container.values()]
    assert [c.num_connections for c in pools] == [1]
    p.clear()
    assert p.send("GET", emu.url + "/v1/serviceAccounts", headers={},
                  retry=retry).status_code == 401  # reopens after clear()


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
