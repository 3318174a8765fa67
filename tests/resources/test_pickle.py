"""Provider pickles: small, secret-free, deterministic blobs that round-trip to an unconfigured
provider, and thousands of serializations in one process without a RecursionError.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import dill
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.dynamic.dynamic import serialize_provider

from skyflow_provider.resources.api_key import ApiKeyProvider
from skyflow_provider.resources.policy import PolicyProvider
from skyflow_provider.resources.policy_assignment import PolicyAssignmentProvider
from skyflow_provider.resources.role import RoleProvider, SystemRoleProvider
from skyflow_provider.resources.role_assignment import RoleAssignmentProvider
from skyflow_provider.resources.service_account import ServiceAccountProvider
from skyflow_provider.resources.service_account_key import ServiceAccountKeyProvider

PROVIDERS = [ServiceAccountProvider, ApiKeyProvider, ServiceAccountKeyProvider, RoleProvider,
             SystemRoleProvider, PolicyProvider, RoleAssignmentProvider, PolicyAssignmentProvider]


@pytest.fixture(scope="module")
def admin_credentials() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return json.dumps({"clientID": "admin0001", "clientName": "admin",
                       "tokenURI": "https://127.0.0.1:1/v1/auth/sa/oauth/token",
                       "keyID": "key0001", "privateKey": pem})


def configured(cls, creds: str):
    p = cls()
    p.configure(ConfigureRequest(Config({
        "skyflow:accountId": "acct0001",
        "skyflow:managementUrl": "https://127.0.0.1:1",
        "skyflow:credentials": creds,
    }, "skyflow-identities")))
    return p


@pytest.mark.parametrize("cls", PROVIDERS)
def test_blob_is_small_and_secret_free(cls, admin_credentials: str) -> None:
    p = configured(cls, admin_credentials)
    assert p._settings is not None and p._settings_error is None  # configure really ran
    blob = serialize_provider(p)
    raw = base64.b64decode(blob)
    assert len(blob) < 200, len(blob)
    pem_body = json.loads(admin_credentials)["privateKey"].splitlines()[1]
    for needle in (pem_body, "acct0001", "PRIVATE KEY", "127.0.0.1"):
        assert needle.encode() not in raw
    # Pickled by reference: module + class name, no bytecode.
    assert cls.__module__.encode() in raw and cls.__name__.encode() in raw


@pytest.mark.parametrize("cls", PROVIDERS)
def test_blob_round_trips_to_an_unconfigured_provider(cls, admin_credentials: str) -> None:
    p = configured(cls, admin_credentials)
    p._client = object()
    q = dill.loads(base64.b64decode(serialize_provider(p)))
    assert type(q) is cls
    assert q._settings is None and q._client is None


def test_blob_is_deterministic() -> None:
    assert serialize_provider(ServiceAccountProvider()) == serialize_provider(
        ServiceAccountProvider())


def test_bad_settings_fail_check_after_input_failures(monkeypatch) -> None:
    """Bad settings are reported at preview (check), naming the key; input failures first."""
    for var in ("SKYFLOW_ACCOUNT_ID", "SKYFLOW_CREDENTIALS", "SKYFLOW_CREDENTIALS_FILE",
                "SKYFLOW_API_KEY", "SKYFLOW_BEARER_TOKEN", "SKYFLOW_MANAGEMENT_URL"):
        monkeypatch.delenv(var, raising=False)
    p = ServiceAccountProvider()
    p.configure(ConfigureRequest(Config({}, "skyflow-identities")))
    assert p._settings_error is not None
    # An input mistake is reported as a failure on its property, settings or not.
    assert [f.property for f in p.check({}, {"name": ""}).failures] == ["name"]
    with pytest.raises(Exception, match="settings are invalid.*skyflow:accountId") as info:
        p.check({}, {"name": "ok"})
    assert info.value.__cause__ is None  # no chained traceback noise
    with pytest.raises(Exception, match="settings are invalid"):
        _ = p.client


def test_configure_outside_the_provider_host_keeps_tracebacks(monkeypatch):
    """quiet_tracebacks() must not touch a program or test process (the SDK walks the stack)."""
    import sys

    from pulumi.dynamic import Config, ConfigureRequest

    from skyflow_provider.resources.service_account import ServiceAccountProvider

    monkeypatch.delenv("SKYFLOW_PROVIDER_TRACEBACKS", raising=False)
    before = getattr(sys, "tracebacklimit", None)
    ServiceAccountProvider().configure(ConfigureRequest(Config({}, "skyflow-identities")))
    assert getattr(sys, "tracebacklimit", None) == before


PROBE = r"""
from pulumi.dynamic.dynamic import serialize_provider
from skyflow_provider.resources.service_account import ServiceAccountProvider
from skyflow_provider.resources.role_assignment import RoleAssignmentProvider
for i in range(3000):
    serialize_provider(ServiceAccountProvider())
    serialize_provider(RoleAssignmentProvider())
print(len(serialize_provider(ServiceAccountProvider())))
"""


def test_six_thousand_serializations_without_recursion_error():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.strip()) <= 200  # the blob stays small (base64 characters)

