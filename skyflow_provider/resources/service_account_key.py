"""``ServiceAccountKey``: an additional JWT key pair (credentials.json) for a JWT service account.

Why: key rotation without replacing the service account. ``rotation_trigger`` /
``rotate_after_days`` rotate in place: a new key is minted and published as ``credentials`` first,
the old one stays valid as ``previous_credentials`` for ``overlap_hours`` and is deleted by a later
up (docs/rotation.md). Skyflow returns the private key only at creation; it is a secret output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    UpdateResult,
)

from ..api import idempotency
from ..http.errors import SkyflowError
from . import checks as v
from . import rotation
from .api_key import check_keepers, resolve_service_account
from .base import (
    SkyflowProvider,
    SkyflowProviderError,
    carry,
    merge_args,
    raise_clean,
    with_secret_outputs,
)
from .service_account import credentials_json

INPUT_KEYS = ("service_account_id", "service_account_auth_type", "keepers",
              *rotation.ROTATION_INPUTS)
OUTPUT_KEYS = ("key_id", "private_key", "credentials", "valid_after", "valid_before",
               "previous_private_key", "previous_credentials", *rotation.ROTATION_OUTPUTS)
SECRET_OUTPUTS = ("private_key", "credentials", "previous_private_key", "previous_credentials")
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
    """Legacy (GCP-style): changing a value *replaces* the key, so the old one stops working in
    the same up. Prefer ``rotation_trigger``, which keeps the old key for ``overlap_hours``."""
    rotation_trigger: pulumi.Input[Any] | None = None
    """Any value; changing it rotates the key in place (new key first, old one kept for
    ``overlap_hours``)."""
    rotate_after_days: pulumi.Input[float] | None = None
    """Rotate once the current key is this many days old, or when it is about to expire."""
    overlap_hours: pulumi.Input[float] | None = None
    """How long the previous key stays valid after a rotation (default 24). 0 uses Skyflow's
    rotate endpoint (the old key stops working at once)."""


class ServiceAccountKeyProvider(SkyflowProvider):
    """CRUD for /v1/serviceAccounts/{ID}/keys, plus in-place rotation (see rotation.py).

    The resource id stays the first key's id (Pulumi cannot change an id in an update);
    ``key_id`` is the current key.
    """

    input_keys = INPUT_KEYS
    output_keys = OUTPUT_KEYS
    replace_keys = ("service_account_id", "keepers")
    slots = rotation.KeySlots(
        ("key_id", "private_key", "credentials", "valid_after", "valid_before"),
        {"key_id": "previous_key_id", "private_key": "previous_private_key",
         "credentials": "previous_credentials"},
    )

    def changed_keys(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        return [k for k in self.input_keys if k != "service_account_auth_type"
                and rotation.input_changed(k, olds, news)]

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        result = super().diff(id_, olds, news)
        if result.replaces:
            return result
        the_plan = rotation.plan(olds, news, "key_id", rotation.now(),
                                 f"service account {olds.get('service_account_id')}: key")
        for message in the_plan.warnings:
            rotation.warn(message)
        if the_plan.needed:
            result.changes = True
            rotation.note(f"service account {olds.get('service_account_id')}: key "
                          f"{olds.get('key_id')}: {the_plan.describe()}")
        return result

    def validate(self, news: dict[str, Any]) -> list[CheckFailure]:
        f = v.check_unknown_keys(news, INPUT_KEYS)
        f += v.check_id("service_account_id", news.get("service_account_id"))
        hint = news.get("service_account_auth_type")
        f += v.check_enum("service_account_auth_type", hint, ("jwt", "api_key"))
        if hint == "api_key":
            f.append(CheckFailure("service_account_id", "service_account_id is an API-key "
                                  f"service account. {API_KEY_RULE}"))
        f += check_keepers(news.get("keepers"))
        f += rotation.validate(news)
        return f

    def _mint(self, sa_id: str) -> dict[str, Any]:
        try:
            resp = idempotency.create_key(self.client, sa_id)
        except SkyflowError as err:
            hint = API_KEY_RULE if getattr(err, "status", None) in (400, 412) else None
            raise_clean(err, f"create key for service account {sa_id}", hint)
        return key_outputs(sa_id, resp, "create")

    def _rotate(self, sa_id: str, key_id: str) -> dict[str, Any]:
        resp = self.client.rotate_key(sa_id, key_id)  # errors as is: see KeyOps
        return key_outputs(sa_id, resp, "rotate")

    def _ops(self, sa_id: str) -> rotation.KeyOps:
        return rotation.KeyOps(
            mint=lambda: self._mint(sa_id),
            delete=lambda key_id: self.call(f"delete key {key_id}", self.client.delete_key,
                                            sa_id, key_id, missing_ok=True),
            rotate_in_place=lambda key_id: self._rotate(sa_id, key_id),
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        sa_id = props["service_account_id"]
        fresh = self._mint(sa_id)
        outs: dict[str, Any] = {k: props.get(k) for k in INPUT_KEYS}
        outs.update({k: None for k in OUTPUT_KEYS})
        outs.update(fresh)
        outs["key_created_at"] = rotation.fmt(rotation.later(rotation.now(),
                                                             fresh["valid_after"]))
        rotation.finish(outs, props)
        return CreateResult(fresh["key_id"], outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        sa_id = props.get("service_account_id") or ""
        key_id = props.get("key_id") or id_
        outs = {k: props.get(k) for k in INPUT_KEYS + OUTPUT_KEYS}
        got = self.call(f"read key {key_id}", self.client.get_key, sa_id, key_id,
                        missing_ok=True)
        previous = props.get("previous_key_id")
        if previous and self.call(f"read key {previous}", self.client.get_key, sa_id, previous,
                                  missing_ok=True) is None:
            for name in self.slots.previous.values():  # deleted by hand: nothing to retire
                outs[name] = None
            outs["previous_key_delete_after"] = None
            previous = None
        if got is None:
            if not previous:
                return ReadResult(None, {})
            rotation.warn(f"key {key_id} of service account {sa_id} was deleted outside Pulumi; "
                          "the next `pulumi up` mints a new one")
            outs.update(key_id=rotation.MISSING, private_key=None, credentials=None)
        else:
            got = got.get("key", got) if isinstance(got.get("key"), Mapping) else got
            outs["key_id"] = got.get("keyID") or key_id
            outs["valid_after"] = got.get("validAfterTime") or props.get("valid_after") or ""
            outs["valid_before"] = got.get("validBeforeTime") or props.get("valid_before") or ""
        return ReadResult(id_, outs, {k: outs.get(k) for k in INPUT_KEYS})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        outs = carry(olds, OUTPUT_KEYS)
        outs.update({k: news.get(k) for k in INPUT_KEYS})
        sa_id = news.get("service_account_id") or olds.get("service_account_id") or ""
        at = rotation.now()
        the_plan = rotation.plan(olds, news, "key_id", at,
                                 f"service account {sa_id}: key")
        rotation.apply(outs, news, the_plan, self.slots, self._ops(sa_id), at, "key")
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        sa_id = props.get("service_account_id") or ""
        for key_id in dict.fromkeys([props.get("key_id") or id_, props.get("previous_key_id")]):
            if key_id:
                self.call(f"delete key {key_id}", self.client.delete_key, sa_id, key_id,
                          missing_ok=True)


def key_outputs(sa_id: str, resp: Mapping[str, Any], verb: str) -> dict[str, Any]:
    """The current-key outputs of a create/rotate key response (credentials.json included)."""
    key_id = resp.get("keyID") or ""
    if not key_id or not resp.get("privateKey"):
        raise SkyflowProviderError(
            f"Skyflow: {verb} key for service account {sa_id} returned no private key"
        )
    return {
        "key_id": key_id,
        "private_key": resp["privateKey"],
        "credentials": credentials_json(resp),
        "valid_after": resp.get("keyValidAfterTime") or "",
        "valid_before": resp.get("keyValidBeforeTime") or "",
    }


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
    """When the current key expires (Skyflow: one year after creation)."""
    rotation_trigger: pulumi.Output[Any]
    rotate_after_days: pulumi.Output[float | None]
    overlap_hours: pulumi.Output[float | None]
    key_created_at: pulumi.Output[str]
    next_rotation_at: pulumi.Output[str | None]
    rotated_at: pulumi.Output[str | None]
    previous_key_id: pulumi.Output[str | None]
    """The key replaced by the last rotation, valid until ``previous_key_delete_after``."""
    previous_private_key: pulumi.Output[str | None]
    """Secret."""
    previous_credentials: pulumi.Output[str | None]
    """Secret. credentials.json of the previous key."""
    previous_key_delete_after: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        args: ServiceAccountKeyArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props = resolve_service_account(
            merge_args(args, kwargs, ServiceAccountKeyArgs, fill=INPUT_KEYS + OUTPUT_KEYS))
        super().__init__(ServiceAccountKeyProvider(), resource_name, props,
                         with_secret_outputs(opts, SECRET_OUTPUTS))
