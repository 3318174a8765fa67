"""Provider settings: stack config first, environment second, validated with actionable errors.

Settings are read in the dynamic provider's ``configure()`` on every run and are never stored
on the pickled provider object; ``ProviderSettings`` refuses to be pickled to enforce that.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..auth.credentials import Credentials, check_url, credentials_from_file, credentials_from_json
from ..auth.tokens import is_expired, token_expiry
from ..http.errors import ConfigError, CredentialsError

DEFAULT_MANAGEMENT_URL = "https://manage.skyflowapis.com"
API_KEY_RE = re.compile(r"^sky-[a-zA-Z0-9]{5}-[a-fA-F0-9]{32}$")

# (stack config key, env var)
ACCOUNT_ID = ("skyflow:accountId", "SKYFLOW_ACCOUNT_ID")
MANAGEMENT_URL = ("skyflow:managementUrl", "SKYFLOW_MANAGEMENT_URL")
CREDENTIALS = ("skyflow:credentials", "SKYFLOW_CREDENTIALS")
CREDENTIALS_FILE = ("skyflow:credentialsFile", "SKYFLOW_CREDENTIALS_FILE")
API_KEY = ("skyflow:apiKey", "SKYFLOW_API_KEY")
BEARER_TOKEN = ("skyflow:bearerToken", "SKYFLOW_BEARER_TOKEN")
CA_BUNDLE = ("skyflow:caBundle", "SKYFLOW_CA_BUNDLE")
VAULT_ID = ("skyflow:vaultId", "SKYFLOW_VAULT_ID")
#: refresh also lists each service account's keys (the key drift report): one more GET each
KEY_DRIFT_REPORT = ("skyflow:keyDriftReport", "SKYFLOW_KEY_DRIFT_REPORT")
#: a create takes over an object of its name that this provider's own identity created and no
#: state holds (left by a killed run; docs/reliability.md)
ADOPT_OWN_ORPHANS = ("skyflow:adoptOwnOrphans", "SKYFLOW_ADOPT_OWN_ORPHANS")
#: the context identifier (``ctx``) of the provider's own token, naming the stack in Skyflow's
#: audit log (default ``pulumi:<project>/<stack>``; docs/reliability.md)
OWNER_TAG = ("skyflow:ownerTag", "SKYFLOW_OWNER_TAG")
MAX_OWNER_TAG = 200
#: keyless: where the workload's OIDC token comes from (github-actions, file:, env:, command:),
#: exchanged at Skyflow's STS for a token of the keyless service account below
OIDC_TOKEN_SOURCE = ("skyflow:oidcTokenSource", "SKYFLOW_OIDC_TOKEN_SOURCE")
OIDC_SERVICE_ACCOUNT_ID = ("skyflow:oidcServiceAccountId", "SKYFLOW_OIDC_SERVICE_ACCOUNT_ID")
OIDC_AUDIENCE = ("skyflow:oidcAudience", "SKYFLOW_OIDC_AUDIENCE")
#: more OIDC issuers shared by many tenants (StsConfig then requires sub in contextClaims)
SHARED_ISSUERS = ("skyflow:sharedIssuers", "SKYFLOW_SHARED_ISSUERS")
AUTH_SETTINGS = (CREDENTIALS, CREDENTIALS_FILE, API_KEY, BEARER_TOKEN, OIDC_TOKEN_SOURCE)


@dataclass(frozen=True)
class ProviderSettings:
    """Everything the client needs. Exactly one of credentials / api_key / bearer_token /
    oidc_token_source is set.

    ``repr`` shows no secret. ``sources`` records where each value came from ("config"/"env"),
    for error messages.
    """

    account_id: str
    management_url: str = DEFAULT_MANAGEMENT_URL
    credentials: Credentials | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    bearer_token: str | None = field(default=None, repr=False)
    oidc_token_source: str | None = None
    oidc_service_account_id: str | None = None
    oidc_audience: str | None = None
    ca_bundle: str | None = None
    vault_id: str | None = None
    shared_issuers: str | None = None
    timeout: tuple[float, float] = (10.0, 60.0)
    key_drift_report: bool = True
    adopt_own_orphans: bool = True
    owner_tag: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def auth_mode(self) -> str:
        """"credentials", "oidc", "api_key" or "bearer_token"."""
        if self.oidc_token_source:
            return "oidc"
        if self.credentials is not None:
            return "credentials"
        if self.api_key:
            return "api_key"
        return "bearer_token"

    def __reduce__(self) -> Any:
        raise TypeError(
            "ProviderSettings hold secrets and must not be pickled into Pulumi state; "
            "build them in configure() with settings_from_config()"
        )


Getter = Callable[[str], Any]


def _lookup(get: Getter, env: Mapping[str, str], pair: tuple[str, str]) -> tuple[str | None, str]:
    """(value, source) for a (config key, env var) pair; empty strings count as unset."""
    key, var = pair
    value = get(key)
    if value is not None and not isinstance(value, str):
        if isinstance(value, bool | int | float):
            value = str(value)
        else:
            raise ConfigError(f"must be a string, got {type(value).__name__}", key=key)
    if value is not None and value.strip():
        return value, "config"
    value = env.get(var)
    if value is not None and value.strip():
        return value, "env"
    return None, ""


def _where(pair: tuple[str, str], source: str) -> dict[str, str | None]:
    key, var = pair
    if source == "config":
        return {"key": key, "env_var": None}
    if source == "env":
        return {"key": None, "env_var": var}
    return {"key": key, "env_var": var}


def _normalise_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if url.endswith("/v1"):
        url = url[: -len("/v1")]
    return url


def _flag(get: Getter, env: Mapping[str, str], pair: tuple[str, str], default: bool,
          sources: dict[str, str]) -> bool:
    """A true/false setting; anything else is an error naming the key."""
    value, src = _lookup(get, env, pair)
    if value is None:
        return default
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        flag = True
    elif text in ("false", "0", "no", "off"):
        flag = False
    else:
        raise ConfigError(f"{pair[0]} must be true or false, got {value!r}", **_where(pair, src))
    sources[pair[0].removeprefix("skyflow:")] = src
    return flag


def settings_from_config(get: Getter, env: Mapping[str, str] | None = None) -> ProviderSettings:
    """Build and validate settings; ``get("skyflow:accountId")`` returns a config value or None.

    Raises ``ConfigError`` naming the stack config key and/or env var on any problem.
    """
    env = os.environ if env is None else env
    sources: dict[str, str] = {}

    account_id, src = _lookup(get, env, ACCOUNT_ID)
    if not account_id:
        raise ConfigError(
            "The Skyflow account id is not set",
            key=ACCOUNT_ID[0],
            env_var=ACCOUNT_ID[1],
            hint="Set it with `pulumi config set skyflow:accountId <id>` (Studio: Account "
            "settings) or export SKYFLOW_ACCOUNT_ID.",
        )
    account_id = account_id.strip()
    if not re.fullmatch(r"[A-Za-z0-9_-]+", account_id):
        raise ConfigError("The account id contains characters other than letters, digits, "
                          "'-' and '_'", **_where(ACCOUNT_ID, src))
    sources["accountId"] = src

    ca_bundle, src = _lookup(get, env, CA_BUNDLE)
    if ca_bundle:
        ca_bundle = os.path.expanduser(ca_bundle.strip())
        if not os.path.isfile(ca_bundle):
            raise ConfigError(f"CA bundle {ca_bundle!r} is not a readable file",
                              **_where(CA_BUNDLE, src))
        sources["caBundle"] = src

    # Authentication: the first setting present wins, stack config before environment; two
    # different methods at the same level are ambiguous and refused.
    found: list[tuple[tuple[str, str], str, str]] = []
    for pair in AUTH_SETTINGS:
        value, src = _lookup(get, env, pair)
        if value:
            found.append((pair, value, src))
    for level in ("config", "env"):
        level_found = [f for f in found if f[2] == level]
        if len(level_found) > 1:
            names = ", ".join(f[0][0] if level == "config" else f[0][1] for f in level_found)
            raise ConfigError(
                f"More than one authentication method is set ({names}); set only one",
                hint="Use service-account credentials (recommended), an API key, or a bearer "
                "token, not several.",
            )
    if not found:
        raise ConfigError(
            "No Skyflow authentication is configured",
            hint="Set one of skyflow:credentials (secret, credentials.json text), "
            "skyflow:credentialsFile, skyflow:apiKey (secret), skyflow:bearerToken (secret) or, "
            "keyless, skyflow:oidcTokenSource with skyflow:oidcServiceAccountId "
            "(https://github.com/skyflow-pulumi/skyflow-pulumi/blob/main/docs/keyless.md) with "
            "`pulumi config set [--secret]`, or the env vars "
            "SKYFLOW_CREDENTIALS, SKYFLOW_CREDENTIALS_FILE, SKYFLOW_API_KEY, "
            "SKYFLOW_BEARER_TOKEN or SKYFLOW_OIDC_TOKEN_SOURCE.",
        )
    found.sort(key=lambda f: 0 if f[2] == "config" else 1)
    pair, value, src = found[0]
    credentials: Credentials | None = None
    api_key: str | None = None
    bearer_token: str | None = None
    try:
        if pair is CREDENTIALS:
            credentials = credentials_from_json(value, source=pair[0] if src == "config"
                                                else pair[1])
        elif pair is CREDENTIALS_FILE:
            credentials = credentials_from_file(value.strip())
    except CredentialsError as exc:
        err = ConfigError(exc.summary, hint=exc.hint, **_where(pair, src))
        err.field = exc.field  # type: ignore[attr-defined]
        raise err from None
    if pair is API_KEY:
        api_key = value.strip()
        if not API_KEY_RE.fullmatch(api_key):
            raise ConfigError(
                "The API key does not look like a Skyflow API key (sky-xxxxx-<32 hex>)",
                **_where(pair, src),
            )
    elif pair is BEARER_TOKEN:
        bearer_token = value.strip()
        if bearer_token.lower().startswith("bearer "):
            bearer_token = bearer_token[7:].strip()
        if token_expiry(bearer_token) is not None and is_expired(bearer_token):
            raise ConfigError(
                "The bearer token has expired",
                hint="Generate a new one (`skyflow-token --credentials credentials.json`) or "
                "configure service-account credentials so tokens are refreshed automatically.",
                **_where(pair, src),
            )
    oidc_source: str | None = None
    oidc_sa: str | None = None
    oidc_audience: str | None = None
    if pair is OIDC_TOKEN_SOURCE:
        from ..auth.oidc import parse_source

        oidc_source = value.strip()
        try:
            parse_source(oidc_source)  # the form only; nothing is read or fetched here
        except CredentialsError as exc:
            raise ConfigError(exc.summary, **_where(pair, src)) from None
        oidc_sa, sa_src = _lookup(get, env, OIDC_SERVICE_ACCOUNT_ID)
        if not oidc_sa or not re.fullmatch(r"[A-Za-z0-9_-]+", oidc_sa.strip()):
            raise ConfigError(
                "Keyless authentication needs the keyless service account's id"
                if not oidc_sa else "The keyless service account id is not a Skyflow id",
                hint="Set skyflow:oidcServiceAccountId (or SKYFLOW_OIDC_SERVICE_ACCOUNT_ID) to "
                "the id of the service account the STS config lists, e.g. the bootstrap "
                "stack's GitHubActionsIdentity service_account_id output.",
                **_where(OIDC_SERVICE_ACCOUNT_ID, sa_src))
        oidc_sa = oidc_sa.strip()
        oidc_audience, _ = _lookup(get, env, OIDC_AUDIENCE)
        oidc_audience = oidc_audience.strip() if oidc_audience else None
    sources["auth"] = src

    url, src = _lookup(get, env, MANAGEMENT_URL)
    if url:
        management_url = _normalise_url(url)
        problem = check_url(management_url, "The management URL")
        if problem:
            raise ConfigError(problem, **_where(MANAGEMENT_URL, src))
        sources["managementUrl"] = src
    elif credentials is not None:
        # A service account's tokenURI lives on its management host (sandbox or production).
        from urllib.parse import urlsplit

        parts = urlsplit(credentials.token_uri)
        management_url = f"{parts.scheme}://{parts.netloc}"
        sources["managementUrl"] = "credentials"
    else:
        management_url = DEFAULT_MANAGEMENT_URL
        sources["managementUrl"] = "default"

    vault_id, src = _lookup(get, env, VAULT_ID)
    if vault_id:
        sources["vaultId"] = src

    owner_tag, src = _lookup(get, env, OWNER_TAG)
    if owner_tag is not None:
        owner_tag = owner_tag.strip()
        if len(owner_tag) > MAX_OWNER_TAG or not owner_tag.isprintable():
            raise ConfigError(f"skyflow:ownerTag must be printable text of at most "
                              f"{MAX_OWNER_TAG} characters, e.g. pulumi:payments/prod",
                              **_where(OWNER_TAG, src))
        if credentials is None and not oidc_source:
            raise ConfigError(
                "skyflow:ownerTag needs service-account credentials (the tag travels as the "
                "ctx of the token the provider exchanges) or keyless credentials (it is asked "
                "for as the OIDC token's audience, which the STS copies into the ctx); an API "
                "key or a ready bearer token carries none", **_where(OWNER_TAG, src))
        sources["ownerTag"] = src

    shared_issuers, _ = _lookup(get, env, SHARED_ISSUERS)
    return ProviderSettings(
        shared_issuers=shared_issuers,
        account_id=account_id,
        management_url=management_url,
        credentials=credentials,
        api_key=api_key,
        bearer_token=bearer_token,
        oidc_token_source=oidc_source,
        oidc_service_account_id=oidc_sa,
        oidc_audience=oidc_audience,
        ca_bundle=ca_bundle,
        vault_id=vault_id.strip() if vault_id else None,
        key_drift_report=_flag(get, env, KEY_DRIFT_REPORT, True, sources),
        adopt_own_orphans=_flag(get, env, ADOPT_OWN_ORPHANS, True, sources),
        owner_tag=owner_tag or None,
        sources=sources,
    )


def settings_from_env(env: Mapping[str, str] | None = None) -> ProviderSettings:
    """Settings from environment variables only (scripts, the CLI, tests)."""
    return settings_from_config(lambda _key: None, env)
