"""``ApiKey``: an additional API key for an API-key service account.

Why a separate resource: rotating or adding a key must not replace the service account (and
with it every role assignment). Skyflow returns the key value only once, at creation, so it is
kept as a secret output and carried over. Rotation (``rotation_trigger``/``rotate_after_days``)
updates the resource in place: the new key is minted and published first, the previous one stays
valid for ``overlap_hours`` (docs/rotation.md). ``keepers`` keeps its old replace semantics.
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
from .base import (
    SkyflowProvider,
    SkyflowProviderError,
    carry,
    merge_args,
    raise_clean,
    with_secret_outputs,
)

INPUT_KEYS = ("service_account_id", "service_account_auth_type", "keepers",
              *rotation.ROTATION_INPUTS)
OUTPUT_KEYS = ("key_id", "api_key", "created_at", "previous_api_key",
               *rotation.ROTATION_OUTPUTS)
SECRET_OUTPUTS = ("api_key", "previous_api_key")
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
    """Legacy (GCP-style): changing a value *replaces* the key, so the old one stops working in
    the same up. Prefer ``rotation_trigger``, which keeps the old key for ``overlap_hours``."""
    rotation_trigger: pulumi.Input[Any] | None = None
    """Any value; changing it rotates the key in place (new key first, old one kept for
    ``overlap_hours``)."""
    rotate_after_days: pulumi.Input[float] | None = None
    """Rotate once the current key is this many days old (checked at every preview/up)."""
    overlap_hours: pulumi.Input[float] | None = None
    """How long the previous key stays valid after a rotation (default 24). 0 uses Skyflow's
    rotate endpoint: same key id, new secret, the old secret is refused at once."""


def resolve_service_account(props: dict[str, Any]) -> dict[str, Any]:
    """Turn a ``service_account`` resource argument into id + auth-type inputs."""
    sa = props.pop("service_account", None)
    if sa is not None:
        # None and absent mean the same here (merge_args drops None and fills declared keys).
        if props.get("service_account_id") is None:
            props["service_account_id"] = sa.id
        if props.get("service_account_auth_type") is None:
            props["service_account_auth_type"] = sa.auth_type
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
    """CRUD for /v1/serviceAccounts/{ID}/apikey, plus in-place rotation (see rotation.py).

    The resource id stays the first key's id for the resource's whole life (Pulumi cannot change
    an id in an update); ``key_id`` is the current key.
    """

    input_keys = INPUT_KEYS
    output_keys = OUTPUT_KEYS
    replace_keys = ("service_account_id", "keepers")
    slots = rotation.KeySlots(("key_id", "api_key", "created_at"),
                              {"key_id": "previous_key_id", "api_key": "previous_api_key"})

    def changed_keys(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        # The auth-type hint is informational only: it never forces an update.
        return [k for k in self.input_keys if k != "service_account_auth_type"
                and rotation.input_changed(k, olds, news)]

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        result = super().diff(id_, olds, news)
        if result.replaces:
            return result
        the_plan = rotation.plan(olds, news, "key_id", rotation.now(),
                                 f"service account {olds.get('service_account_id')}: API key")
        for message in the_plan.warnings:
            rotation.warn(message)
        if the_plan.needed:
            result.changes = True
            rotation.note(f"service account {olds.get('service_account_id')}: API key "
                          f"{olds.get('key_id')}: {the_plan.describe()}")
        return result

    def validate(self, news: dict[str, Any]) -> list[CheckFailure]:
        f = v.check_unknown_keys(news, INPUT_KEYS)
        f += v.check_id("service_account_id", news.get("service_account_id"))
        hint = news.get("service_account_auth_type")
        f += v.check_enum("service_account_auth_type", hint, ("jwt", "api_key"))
        if hint == "jwt":
            f.append(CheckFailure("service_account_id", f"service_account_id is a JWT service "
                                  f"account. {JWT_RULE}"))
        f += check_keepers(news.get("keepers"))
        f += rotation.validate(news)
        return f

    def _mint(self, sa_id: str) -> dict[str, Any]:
        try:
            resp = idempotency.create_api_key(self.client, sa_id)
        except SkyflowError as err:
            hint = JWT_RULE if getattr(err, "status", None) in (400, 412) else None
            raise_clean(err, f"create API key for service account {sa_id}", hint)
        return self._key_outputs(sa_id, resp, "create")

    def _rotate(self, sa_id: str, key_id: str) -> dict[str, Any]:
        resp = self.client.rotate_api_key(sa_id, key_id)  # errors as is: see KeyOps
        return self._key_outputs(sa_id, resp, "rotate")

    def _key_outputs(self, sa_id: str, resp: Mapping[str, Any], verb: str) -> dict[str, Any]:
        key_id = resp.get("apiKeyID") or resp.get("keyID") or ""
        api_key = resp.get("apiKey") or ""
        if not key_id or not api_key:
            raise SkyflowProviderError(
                f"Skyflow: {verb} API key for service account {sa_id} returned no key. {JWT_RULE}"
            )
        created_at = resp.get("keyValidAfterTime") or ""
        if not created_at:
            got = self.call("read API key", self.client.get_api_key, sa_id, key_id,
                            missing_ok=True) or {}
            created_at = got.get("keyValidAfterTime") or ""
        return {"key_id": key_id, "api_key": api_key, "created_at": created_at}

    def _ops(self, sa_id: str) -> rotation.KeyOps:
        return rotation.KeyOps(
            mint=lambda: self._mint(sa_id),
            delete=lambda key_id: self.call(f"delete API key {key_id}",
                                            self.client.delete_api_key, sa_id, key_id,
                                            missing_ok=True),
            rotate_in_place=lambda key_id: self._rotate(sa_id, key_id),
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        sa_id = props["service_account_id"]
        fresh = self._mint(sa_id)
        outs: dict[str, Any] = {k: props.get(k) for k in INPUT_KEYS}
        outs.update({k: None for k in OUTPUT_KEYS})
        outs.update(fresh)
        outs["key_created_at"] = rotation.fmt(rotation.later(rotation.now(), fresh["created_at"]))
        rotation.finish(outs, props)
        return CreateResult(fresh["key_id"], outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        sa_id = props.get("service_account_id") or ""
        key_id = props.get("key_id") or id_
        outs = {k: props.get(k) for k in INPUT_KEYS + OUTPUT_KEYS}
        got = self.call(f"read API key {key_id}", self.client.get_api_key, sa_id, key_id,
                        missing_ok=True)
        gone = got is None or str(got.get("status") or "").upper() == "DELETED"
        previous = props.get("previous_key_id")
        if previous and self.call(f"read API key {previous}", self.client.get_api_key, sa_id,
                                  previous, missing_ok=True) is None:
            for name in self.slots.previous.values():  # deleted by hand: nothing to retire
                outs[name] = None
            outs["previous_key_delete_after"] = None
            previous = None
        if gone:
            if not previous:
                return ReadResult(None, {})
            # The previous key still works: keep the resource; the next up mints a current one.
            rotation.warn(f"API key {key_id} of service account {sa_id} was deleted outside "
                          "Pulumi; the next `pulumi up` mints a new one")
            outs.update(key_id=rotation.MISSING, api_key=None, created_at=None)
        else:
            assert got is not None
            outs["key_id"] = got.get("keyID") or key_id
            outs["created_at"] = got.get("keyValidAfterTime") or props.get("created_at") or ""
        return ReadResult(id_, outs, {k: outs.get(k) for k in INPUT_KEYS})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        outs = carry(olds, OUTPUT_KEYS)
        outs.update({k: news.get(k) for k in INPUT_KEYS})
        sa_id = news.get("service_account_id") or olds.get("service_account_id") or ""
        at = rotation.now()
        the_plan = rotation.plan(olds, news, "key_id", at,
                                 f"service account {sa_id}: API key")
        rotation.apply(outs, news, the_plan, self.slots, self._ops(sa_id), at, "API key")
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        sa_id = props.get("service_account_id") or ""
        for key_id in dict.fromkeys([props.get("key_id") or id_, props.get("previous_key_id")]):
            if key_id:
                self.call(f"delete API key {key_id}", self.client.delete_api_key, sa_id, key_id,
                          missing_ok=True)


class ApiKey(Resource, module="skyflow", name="ApiKey"):
    """An additional API key of an API-key service account; ``api_key`` is always secret."""

    service_account_id: pulumi.Output[str]
    keepers: pulumi.Output[dict[str, str] | None]
    rotation_trigger: pulumi.Output[Any]
    rotate_after_days: pulumi.Output[float | None]
    overlap_hours: pulumi.Output[float | None]
    key_id: pulumi.Output[str]
    """The current key (the resource id stays the first key's id)."""
    api_key: pulumi.Output[str]
    """Secret."""
    created_at: pulumi.Output[str]
    key_created_at: pulumi.Output[str]
    next_rotation_at: pulumi.Output[str | None]
    rotated_at: pulumi.Output[str | None]
    previous_key_id: pulumi.Output[str | None]
    """The key replaced by the last rotation, valid until ``previous_key_delete_after``."""
    previous_api_key: pulumi.Output[str | None]
    """Secret."""
    previous_key_delete_after: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        args: ApiKeyArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props = resolve_service_account(
            merge_args(args, kwargs, ApiKeyArgs, fill=INPUT_KEYS + OUTPUT_KEYS))
        super().__init__(ApiKeyProvider(), resource_name, props,
                         with_secret_outputs(opts, SECRET_OUTPUTS))
