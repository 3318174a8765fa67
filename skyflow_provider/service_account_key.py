"""``ServiceAccountKey``: an additional JWT key pair (credentials.json) for a JWT service account.

Why: key rotation without replacing the service account. Create a new key (change
``keepers``), let consumers pick up the new ``credentials`` output, then delete the old one.
Skyflow returns the private key only at creation; it is kept as a secret output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CreateResult, ReadResult, Resource, UpdateResult

from . import idempotency
from . import validation as v
from .api_key import check_keepers, resolve_service_account
from .errors import SkyflowError
from .provider_base import (
    SkyflowProvider,
    SkyflowProviderError,
    carry,
    merge_args,
    raise_clean,
    with_secret_outputs,
)
from .service_account import credentials_json

INPUT_KEYS = ("service_account_id", "service_account_auth_type", "keepers")
OUTPUT_KEYS = ("key_id", "private_key", "credentials", "valid_after", "valid_before")
SECRET_OUTPUTS = ("private_key", "credentials")
API_KEY_RULE = (
    "Skyflow's rule: a service account set up for API keys cannot generate bearer tokens, so it "
    "has no key pairs; create the service account with auth_type='jwt'"
)


@dataclass
class ServiceAccountKeyArgs:
    """Inputs of a ServiceAccountKey."""

    service_account_id: pulumi.Input[str] | None = None
    """The JWT service account (its ``id``). Changing it replaces the key."""
    service_account: Any = None
    """Alternative to ``service_account_id``: the ``ServiceAccount`` resource itself."""
    service_account_auth_type: pulumi.Input[str] | None = None
    """Optional hint; filled from ``service_account`` when given."""
    keepers: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None
    """Arbitrary strings; changing any of them replaces (rotates) the key."""


class ServiceAccountKeyProvider(SkyflowProvider):
    """CRUD for /v1/serviceAccounts/{ID}/keys."""

    input_keys = INPUT_KEYS
    output_keys = OUTPUT_KEYS
    replace_keys = ("service_account_id", "keepers")

    def changed_keys(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        return [k for k in super().changed_keys(olds, news) if k != "service_account_auth_type"]

    def validate(self, news: dict[str, Any]) -> list[CheckFailure]:
        f = v.check_unknown_keys(news, INPUT_KEYS)
        f += v.check_id("service_account_id", news.get("service_account_id"))
        hint = news.get("service_account_auth_type")
        f += v.check_enum("service_account_auth_type", hint, ("jwt", "api_key"))
        if hint == "api_key":
            f.append(CheckFailure("service_account_id", "service_account_id is an API-key "
                                  f"service account. {API_KEY_RULE}"))
        f += check_keepers(news.get("keepers"))
        return f

    def create(self, props: dict[str, Any]) -> CreateResult:
        sa_id = props["service_account_id"]
        try:
            resp = idempotency.create_key(self.client, sa_id)
        except SkyflowError as err:
            hint = API_KEY_RULE if getattr(err, "status", None) in (400, 412) else None
            raise_clean(err, f"create key for service account {sa_id}", hint)
        key_id = resp.get("keyID") or ""
        if not key_id or not resp.get("privateKey"):
            raise SkyflowProviderError(
                f"Skyflow: create key for service account {sa_id} returned no private key"
            )
        outs = {k: props.get(k) for k in INPUT_KEYS}
        outs.update(
            key_id=key_id,
            private_key=resp["privateKey"],
            credentials=credentials_json(resp),
            valid_after=resp.get("keyValidAfterTime") or "",
            valid_before=resp.get("keyValidBeforeTime") or "",
        )
        return CreateResult(key_id, outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        sa_id = props.get("service_account_id") or ""
        got = self.call(f"read key {id_}", self.client.get_key, sa_id, id_, missing_ok=True)
        if got is None:
            return ReadResult(None, {})
        got = got.get("key", got) if isinstance(got.get("key"), Mapping) else got
        outs = {k: props.get(k) for k in INPUT_KEYS + OUTPUT_KEYS}
        outs["key_id"] = got.get("keyID") or id_
        outs["valid_after"] = got.get("validAfterTime") or props.get("valid_after") or ""
        outs["valid_before"] = got.get("validBeforeTime") or props.get("valid_before") or ""
        return ReadResult(id_, outs, {k: outs.get(k) for k in INPUT_KEYS})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        outs = carry(olds, OUTPUT_KEYS)
        outs.update({k: news.get(k) for k in INPUT_KEYS})
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self.call(f"delete key {id_}", self.client.delete_key,
                  props.get("service_account_id") or "", id_, missing_ok=True)


class ServiceAccountKey(Resource, module="skyflow", name="ServiceAccountKey"):
    """An extra key pair of a JWT service account; ``private_key``/``credentials`` are secret."""

    service_account_id: pulumi.Output[str]
    keepers: pulumi.Output[dict[str, str] | None]
    key_id: pulumi.Output[str]
    private_key: pulumi.Output[str]
    """Secret."""
    credentials: pulumi.Output[str]
    """Secret. credentials.json for this key."""
    valid_after: pulumi.Output[str]
    valid_before: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: ServiceAccountKeyArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props = resolve_service_account(merge_args(args, kwargs, ServiceAccountKeyArgs))
        for key in INPUT_KEYS + OUTPUT_KEYS:  # every attribute exists as an Output
            props.setdefault(key, None)
        super().__init__(ServiceAccountKeyProvider(), resource_name, props,
                         with_secret_outputs(opts, SECRET_OUTPUTS))
