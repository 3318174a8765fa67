"""Transport and signing costs that must be paid once, not per call (docs/performance.md 1, 6).

* One ``ssl.SSLContext`` per trust setting, shared by every connection, thread and session
  (management calls and the token exchange alike); no CA file is loaded per connection, and
  verification cannot be turned off or redirected per request.
* The credentials' RSA key is parsed once per ``Credentials`` object, never kept in its repr,
  equality or pickle. Counted through wrappers, not timed.
"""

from __future__ import annotations

import dataclasses
import pickle
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from skyflow_provider.api.client import ManagementClient
from skyflow_provider.auth import credentials as creds_mod
from skyflow_provider.auth.credentials import Credentials, load_credentials, private_key_object
from skyflow_provider.auth.tokens import generate_bearer_token, sign_assertion
from skyflow_provider.http import transport as http_session
from skyflow_provider.http.errors import TransportError
from tests.helpers.emulator_proc import EmulatorProcess


@pytest.fixture
def fresh_contexts(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """An empty context cache, the env's CA variables unset, and counters of the costly calls."""
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(http_session, "_contexts", {})
    counts = {"built": 0, "load_verify_locations": 0}
    real_build = http_session._build_context

    def counting_build(base: str, extra: str) -> ssl.SSLContext:
        counts["built"] += 1
        return real_build(base, extra)

    real_load = ssl.SSLContext.load_verify_locations

    def counting_load(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        counts["load_verify_locations"] += 1
        real_load(self, *args, **kwargs)

    monkeypatch.setattr(http_session, "_build_context", counting_build)
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting_load)
    yield counts


def test_one_context_for_every_connection_thread_and_token_exchange(
        emu: EmulatorProcess, make_client: Callable[..., ManagementClient],
        fresh_contexts: dict[str, int]) -> None:
    client = make_client()
    sa_id = emu.admin_credentials["clientID"]
    client.get_service_account(sa_id)  # token exchange + first management call
    assert fresh_contexts["built"] == 1
    loads_after_first = fresh_contexts["load_verify_locations"]
    # The emulator closes every connection: each call below is a new TLS connection.
    for _ in range(10):
        client.get_service_account(sa_id)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(3):
                client.get_service_account(sa_id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    # The token exchange (its own sessions) uses the same context.
    tok, _ = generate_bearer_token(emu.admin_credentials_path, ca_bundle=emu.ca_bundle)
    assert tok
    assert fresh_contexts["built"] == 1
    assert fresh_contexts["load_verify_locations"] == loads_after_first


def test_context_verifies_and_checks_hostnames(emu: EmulatorProcess,
                                               fresh_contexts: dict[str, int]) -> None:
    ctx = http_session.ssl_context_for(emu.ca_bundle)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert http_session.ssl_context_for(emu.ca_bundle) is ctx
    assert http_session.ssl_context_for(None) is not ctx  # another trust setting
    assert fresh_contexts["built"] == 2


def test_verify_cannot_be_disabled_or_redirected_per_request(
        emu: EmulatorProcess, fresh_contexts: dict[str, int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    url = emu.url + "/v1/serviceAccounts"
    default_trust = http_session.build_session(idempotent=True)  # no emulator CA
    with pytest.raises(requests.exceptions.SSLError):
        default_trust.get(url, verify=False, timeout=10)
    with pytest.raises(requests.exceptions.SSLError):
        default_trust.get(url, verify=str(emu.ca_bundle), timeout=10)
    # REQUESTS_CA_BUNDLE still chooses the default store (docs/client.md), read per lookup.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(emu.ca_bundle))
    assert default_trust.get(url, timeout=10).status_code == 401  # TLS ok, no token
    trusted = http_session.build_session(idempotent=True, ca_bundle=str(emu.ca_bundle))
    assert trusted.get(url, timeout=10).status_code == 401


def test_unreadable_ca_bundle_is_a_tls_transport_error(
        emu: EmulatorProcess, tmp_path: Any, fresh_contexts: dict[str, int]) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    with pytest.raises(TransportError) as info:
        generate_bearer_token(emu.admin_credentials_path, ca_bundle=str(bad))
    assert "TLS" in str(info.value)


# --------------------------------------------------------------------------- RSA key


@pytest.fixture
def parse_count(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    real = creds_mod.serialization.load_pem_private_key

    def counting(data: bytes, password: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(data, password, **kwargs)

    monkeypatch.setattr(creds_mod.serialization, "load_pem_private_key", counting)
    return calls


def test_key_parsed_once_per_credentials(emu: EmulatorProcess,
                                         parse_count: list[dict[str, Any]]) -> None:
    creds = load_credentials(str(emu.admin_credentials_path))
    for _ in range(5):
        assert sign_assertion(creds)
    assert len(parse_count) == 1
    assert parse_count[0] == {"unsafe_skip_rsa_key_validation": True}
    # Built directly (no validation pass): parsed on first use, then reused.
    direct = Credentials(client_id=creds.client_id, key_id=creds.key_id,
                         token_uri=creds.token_uri, private_key=creds.private_key)
    for _ in range(3):
        private_key_object(direct)
    assert len(parse_count) == 2
    # replace() with another key must not reuse the cached object.
    other = dataclasses.replace(direct, private_key=creds.private_key)
    private_key_object(other)
    assert len(parse_count) == 3


def test_parsed_key_stays_private(emu: EmulatorProcess) -> None:
    creds = load_credentials(str(emu.admin_credentials_path))
    private_key_object(creds)
    direct = Credentials(client_id=creds.client_id, key_id=creds.key_id,
                         token_uri=creds.token_uri, private_key=creds.private_key,
                         client_name=creds.client_name,
                         key_valid_after_time=creds.key_valid_after_time,
                         key_valid_before_time=creds.key_valid_before_time,
                         key_algorithm=creds.key_algorithm)
    assert creds == direct and hash(creds) == hash(direct)
    assert "_parsed_key" not in repr(creds) and "RSAPrivateKey" not in repr(creds)
    assert "_parsed_key" not in dataclasses.asdict(creds)
    with pytest.raises(TypeError, match="must not be pickled"):
        pickle.dumps(creds)
