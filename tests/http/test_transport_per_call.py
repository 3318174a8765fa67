"""Per-call work the transport does once instead: the proxy environment per session and host,
the trust-store lookup per second (and at once when REQUESTS_CA_BUNDLE changes)."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
import requests

from skyflow_provider.http import transport


def test_proxy_environment_is_read_once_per_host(
        monkeypatch: pytest.MonkeyPatch,
        proxy_lookups: Callable[[ModuleType], list[str]]) -> None:
    seen = proxy_lookups(transport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    s = transport.build_session(idempotent=True)
    for path in ("/a", "/b", "/c"):
        got = s.merge_environment_settings(f"https://api.example{path}", {}, None, True, None)
        assert got["proxies"]["https"] == "http://proxy.example:3128"
        assert got["verify"] is True
    s.merge_environment_settings("https://other.example/x", {}, None, None, None)
    assert len(seen) == 2  # one per host, not per request
    # request-level settings still win, exactly as in requests
    got = s.merge_environment_settings("https://api.example/d", {"https": "http://mine:1"},
                                       True, True, None)
    assert got["proxies"]["https"] == "http://mine:1" and got["stream"] is True
    # without trust_env nothing comes from the environment
    s.trust_env = False
    assert "https" not in s.merge_environment_settings("https://api.example/e", {}, None,
                                                       True, None)["proxies"]


def test_trust_store_lookup_is_reused_for_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    ctx = ssl.create_default_context()

    def lookup(ca_bundle: str | None) -> ssl.SSLContext:
        calls.append(ca_bundle)
        return ctx

    monkeypatch.setattr(transport, "ssl_context_for", lookup)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    adapter = transport.TrustedAdapter()  # its TrustCache, as the API client's ApiPool has
    request = requests.Request("GET", "https://api.example/x").prepare()
    for _ in range(5):
        _, kwargs = adapter.build_connection_pool_key_attributes(request, True)
        assert kwargs["ssl_context"] is ctx and kwargs["cert_reqs"] == "CERT_REQUIRED"
    assert len(calls) == 1
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/some/bundle.pem")  # seen at once
    adapter.build_connection_pool_key_attributes(request, True)
    assert len(calls) == 2
    monkeypatch.setattr(transport.TrustCache, "RECHECK_S", 0.0)  # files checked again
    adapter.build_connection_pool_key_attributes(request, True)
    assert len(calls) == 3


def test_netrc_is_read_once_per_host_and_still_used(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Any) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.example login user password secret-pw\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    seen: list[str] = []
    real = transport.get_netrc_auth

    def counting(url: str, raise_errors: bool = False) -> Any:
        seen.append(url)
        return real(url, raise_errors)

    monkeypatch.setattr(transport, "get_netrc_auth", counting)
    s = transport.build_session(idempotent=True)
    for path in ("/a", "/b"):
        p = s.prepare_request(requests.Request("GET", f"https://api.example{path}"))
        assert str(p.headers["Authorization"]).startswith("Basic ")
    p = s.prepare_request(requests.Request("GET", "https://other.example/x"))
    assert "Authorization" not in p.headers
    assert len(seen) == 2 and s.trust_env is True
