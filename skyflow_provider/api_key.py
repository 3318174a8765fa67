"""``ApiKey``: an additional API key for an API-key service account.

Why a separate resource: rotating or adding a key must not replace the service account (and
with it every role assignment). Skyflow returns the key value only once, at creation, so it is
kept as a secret output and carried over; changing ``keepers`` replaces the key (rotation).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CreateResult, ReadResult, Resource, UpdateResult

from . import idempotency
from . import validation as v
from .errors import SkyflowError
from .provider_base import (
    SkyflowProvider,
    SkyflowProviderError,
    carry,
    merge_args,
    raise_clean,
    with_secret_outputs,
)

INPUT_KEYS = ("service_account_id", "service_account_auth_type", "keepers")
OUTPUT_KEYS = ("key_id", "api_key", "created_at")
SECRET_OUTPUTS = ("api_key",)
JWT_RULE = (
    "Skyflow's rule: a service account set up for bearer tokens (JWT) cannot have API keys; "
    "create the service account with auth_type='api_key'"
)


@dataclass
class ApiKeyArgs:
    """Inputs of an ApiKey."""

    service_account_id: pulumi.Input[str] | None = None
    """The API-key service account (its ``id``). Changing it replaces the key."""
    service_account: Any = None
    """Alternative to ``service_account_id``: the ``ServiceAccount`` resource itself, which also
    lets preview reject JWT accounts before any API call."""
    service_account_auth_type: pulumi.Input[str] | None = None
    """Optional hint (``"api_key"``/``"jwt"``); filled from ``service_account`` when given."""
    keepers: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None
    """Arbitrary strings; changing any of them replaces (rotates) the key."""


def resolve_service_account(props: dict[str, Any]) -> dict[str, Any]:
    """Turn a ``service_account`` resource argument into id + auth-type inputs."""
    sa = props.pop("service_account", None)
    if sa is not None:
        props.setdefault("service_account_id", sa.id)
        props.setdefault("service_account_auth_type", sa.auth_type)
    return props


def check_keepers(value: Any) -> list[CheckFailure]:
    """keepers: a flat map of strings."""
    if value is None or v.is_unknown(value):
        return []
    if not isinstance(value, Mapping):
        return [CheckFailure("keepers", "keepers must be a map of strings, e.g. "
                             "{'rotation': '2026-q4'}")]
    bad = [k for k, val in value.items() if not (isinstance(val, str) or v.is_unknown(val))]
    if bad:
        return [CheckFailure("keepers", f"keepers values must be strings; fix {', '.join(bad)}")]
    return []


class ApiKeyProvider(SkyflowProvider):
    """CRUD for /v1/serviceAccounts/{ID}/apikey."""

    input_keys = INPUT_KEYS
    output_keys = OUTPUT_KEYS
    replace_keys = ("service_account_id", "keepers")

    def changed_keys(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        # The auth-type hint is informational only: it never forces an update.
        return [k for k in super().changed_keys(olds, news) if k != "service_account_auth_type"]

    def validate(self, news: dict[str, Any]) -> list[CheckFailure]:
        f = v.check_unknown_keys(news, INPUT_KEYS)
        f += v.check_id("service_account_id", news.get("service_account_id"))
        hint = news.get("service_account_auth_type")
        f += v.check_enum("service_account_auth_type", hint, ("jwt", "api_key"))
        if hint == "jwt":
            f.append(CheckFailure("service_account_id", f"service_account_id is a JWT service "
                                  f"account. {JWT_RULE}"))
        f += check_keepers(news.get("keepers"))
        return f

    def create(self, props: dict[str, Any]) -> CreateResult:
        sa_id = props["service_account_id"]
        try:
            resp = idempotency.create_api_key(self.client, sa_id)
        except SkyflowError as err:
            hint = JWT_RULE if getattr(err, "status", None) in (400, 412) else None
            raise_clean(err, f"create API key for service account {sa_id}", hint)
        key_id = resp.get("apiKeyID") or resp.get("keyID") or ""
        api_key = resp.get("apiKey") or ""
        if not key_id or not api_key:
            raise SkyflowProviderError(
                f"Skyflow: create API key for service account {sa_id} returned no key. {JWT_RULE}"
            )
        created_at = resp.get("keyValidAfterTime") or ""
        if not created_at:
            got = self.call("read API key", self.client.get_api_key, sa_id, key_id,
                            missing_ok=True) or {}
            created_at = got.get("keyValidAfterTime") or ""
        outs = {k: props.get(k) for k in INPUT_KEYS}
        outs.update(key_id=key_id, api_key=api_key, created_at=created_at)
        return CreateResult(key_id, outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        sa_id = props.get("service_account_id") or ""
        got = self.call(f"read API key {id_}", self.client.get_api_key, sa_id, id_,
                        missing_ok=True)
        if got is None or str(got.get("status") or "").upper() == "DELETED":
            return ReadResult(None, {})
        outs = {k: props.get(k) for k in INPUT_KEYS + OUTPUT_KEYS}
        outs["key_id"] = got.get("keyID") or id_
        outs["created_at"] = got.get("keyValidAfterTime") or props.get("created_at") or ""
        return ReadResult(id_, outs, {k: outs.get(k) for k in INPUT_KEYS})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        outs = carry(olds, OUTPUT_KEYS)
        outs.update({k: news.get(k) for k in INPUT_KEYS})
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self.call(f"delete API key {id_}", self.client.delete_api_key,
                  props.get("service_account_id") or "", id_, missing_ok=True)


class ApiKey(Resource, module="skyflow", name="ApiKey"):
    """An additional API key of an API-key service account; ``api_key`` is always secret."""

    service_account_id: pulumi.Output[str]
    keepers: pulumi.Output[dict[str, str] | None]
    key_id: pulumi.Output[str]
    api_key: pulumi.Output[str]
    """Secret."""
    created_at: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: ApiKeyArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props = resolve_service_account(merge_args(args, kwargs, ApiKeyArgs))
        for key in INPUT_KEYS + OUTPUT_KEYS:  # every attribute exists as an Output
            props.setdefault(key, None)
        super().__init__(ApiKeyProvider(), resource_name, props,
                         with_secret_outputs(opts, SECRET_OUTPUTS))
