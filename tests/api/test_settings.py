"""Provider settings: stack config first, env fallback, ConfigError naming key and env var."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from skyflow_provider.api.settings import DEFAULT_MANAGEMENT_URL, settings_from_config
from skyflow_provider.http.errors import ConfigError
from tests.fakes import creds_dict, issue_token

API_KEY = "sky-ab12C-" + "0123456789abcdef0123456789abcdef"


def _get(cfg: dict[str, Any]) -> Any:
    return lambda key: cfg.get(key)


def test_config_values_win_over_env() -> None:
    cfg = {"skyflow:accountId": "acc1", "skyflow:apiKey": API_KEY,
           "skyflow:managementUrl": "https://manage.skyflowapis-preview.com/"}
    env = {"SKYFLOW_ACCOUNT_ID": "acc2", "SKYFLOW_MANAGEMENT_URL": "https://other.example"}
    s = settings_from_config(_get(cfg), env)
    assert s.account_id == "acc1"
    assert s.management_url == "https://manage.skyflowapis-preview.com"
    assert s.api_key == API_KEY and s.auth_mode == "api_key"
    assert s.sources["accountId"] == "config"


def test_env_fallbacks(tmp_path: Path) -> None:
    d = creds_dict(token_uri="https://manage.skyflowapis-preview.com/v1/auth/sa/oauth/token")
    f = tmp_path / "c.json"
    f.write_text(json.dumps(d))
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    env = {"SKYFLOW_ACCOUNT_ID": "acc", "SKYFLOW_CREDENTIALS_FILE": str(f),
           "SKYFLOW_CA_BUNDLE": str(ca), "SKYFLOW_VAULT_ID": "v1"}
    s = settings_from_config(_get({}), env)
    assert s.auth_mode == "credentials" and s.credentials is not None
    assert s.credentials.client_id == d["clientID"]
    # management URL derived from the service account's tokenURI host
    assert s.management_url == "https://manage.skyflowapis-preview.com"
    assert s.ca_bundle == str(ca) and s.vault_id == "v1"


def test_default_management_url_and_v1_suffix() -> None:
    s = settings_from_config(_get({"skyflow:accountId": "a", "skyflow:apiKey": API_KEY}), {})
    assert s.management_url == DEFAULT_MANAGEMENT_URL
    s = settings_from_config(_get({"skyflow:accountId": "a", "skyflow:apiKey": API_KEY,
                                   "skyflow:managementUrl": "https://x.example/v1/"}), {})
    assert s.management_url == "https://x.example"


def test_loopback_http_allowed() -> None:
    s = settings_from_config(_get({"skyflow:accountId": "a", "skyflow:apiKey": API_KEY,
                                   "skyflow:managementUrl": "http://127.0.0.1:8080"}), {})
    assert s.management_url == "http://127.0.0.1:8080"


def test_bearer_token_prefix_stripped() -> None:
    tok = issue_token()
    s = settings_from_config(_get({"skyflow:accountId": "a",
                                   "skyflow:bearerToken": "Bearer " + tok}), {})
    assert s.bearer_token == tok and s.auth_mode == "bearer_token"


_BAD: list[tuple[str, dict[str, Any], dict[str, str], tuple[str | None, str | None], str]] = [
    ("no-account", {"skyflow:apiKey": API_KEY}, {},
     ("skyflow:accountId", "SKYFLOW_ACCOUNT_ID"), "account id is not set"),
    ("bad-account", {"skyflow:accountId": "a b", "skyflow:apiKey": API_KEY}, {},
     ("skyflow:accountId", None), "account id"),
    ("no-auth", {"skyflow:accountId": "a"}, {}, (None, None), "No Skyflow authentication"),
    ("two-auth", {"skyflow:accountId": "a", "skyflow:apiKey": API_KEY,
                  "skyflow:bearerToken": "t"}, {}, (None, None), "more than one"),
    ("http-remote", {"skyflow:accountId": "a", "skyflow:apiKey": API_KEY,
                     "skyflow:managementUrl": "http://manage.skyflowapis.com"}, {},
     ("skyflow:managementUrl", None), "only https"),
    ("http-remote-env", {"skyflow:accountId": "a", "skyflow:apiKey": API_KEY},
     {"SKYFLOW_MANAGEMENT_URL": "http://10.0.0.1"},
     (None, "SKYFLOW_MANAGEMENT_URL"), "only https"),
    ("bad-url", {"skyflow:accountId": "a", "skyflow:apiKey": API_KEY,
                 "skyflow:managementUrl": "manage.skyflowapis.com"}, {},
     ("skyflow:managementUrl", None), "https://"),
    ("bad-api-key", {"skyflow:accountId": "a", "skyflow:apiKey": "sky-nope"}, {},
     ("skyflow:apiKey", None), "does not look like"),
    ("expired-token", {"skyflow:accountId": "a",
                       "skyflow:bearerToken": issue_token(lifetime=-60)}, {},
     ("skyflow:bearerToken", None), "expired"),
    ("bad-credentials", {"skyflow:accountId": "a", "skyflow:credentials": "{oops"}, {},
     ("skyflow:credentials", None), "not valid JSON"),
    ("bad-credentials-env", {"skyflow:accountId": "a"}, {"SKYFLOW_CREDENTIALS": "[]"},
     (None, "SKYFLOW_CREDENTIALS"), "JSON object"),
    ("missing-file", {"skyflow:accountId": "a", "skyflow:credentialsFile": "/nonexistent.json"},
     {}, ("skyflow:credentialsFile", None), "does not exist"),
    ("missing-ca", {"skyflow:accountId": "a", "skyflow:apiKey": API_KEY,
                    "skyflow:caBundle": "/nonexistent/ca.pem"}, {},
     ("skyflow:caBundle", None), "not a readable file"),
    ("non-string", {"skyflow:accountId": ["a"], "skyflow:apiKey": API_KEY}, {},
     ("skyflow:accountId", None), "must be a string"),
]


@pytest.mark.parametrize("cfg,env,where,fragment", [b[1:] for b in _BAD],
                         ids=[b[0] for b in _BAD])
def test_config_errors(cfg: dict[str, Any], env: dict[str, str],
                       where: tuple[str | None, str | None], fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_config(_get(cfg), env)
    err = info.value
    assert fragment.lower() in str(err).lower()
    key, var = where
    assert err.key == key and err.env_var == var
    for name in (key, var):
        if name:
            assert name in str(err)
    assert "sky-nope" not in str(err)


def test_credentials_field_named_through_config() -> None:
    d = creds_dict()
    d["tokenURI"] = "http://example.com/token"
    with pytest.raises(ConfigError) as info:
        settings_from_config(_get({"skyflow:accountId": "a",
                                   "skyflow:credentials": json.dumps(d)}), {})
    assert "tokenURI" in str(info.value) and "skyflow:credentials" in str(info.value)
    assert getattr(info.value, "field", None) == "tokenURI"


def test_settings_repr_and_pickle_hide_secrets() -> None:
    d = creds_dict()
    s = settings_from_config(_get({"skyflow:accountId": "a",
                                   "skyflow:credentials": json.dumps(d)}), {})
    assert "PRIVATE" not in repr(s) and d["privateKey"][40:80] not in repr(s)
    with pytest.raises(TypeError):
        pickle.dumps(s)
