"""``ServiceAccountKey``: an additional JWT key pair (credentials.json) for a JWT service account.

Why: key rotation without replacing the service account. ``rotation_trigger`` /
``rotate_after_days`` rotate in place: a new key is minted and published as ``credentials`` first,
the old one stays valid as ``previous_credentials`` for ``overlap_hours`` and is deleted by a later
up (docs/rotation.md). Skyflow returns the private key only at creation; it is a secret output.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CreateResult, ReadResult, Resource, UpdateResult

from ..api import idempotency
from ..http.errors import SkyflowError
from . import checks as v
from . import rotation
from .args import ServiceAccountKeyArgs
from .base import carry, declare, raise_clean
from .declarations import SERVICE_ACCOUNT_KEY
from .keys import (
    JWT_SLOTS,
    RotatingProvider,
    check_key_target,
    key_outputs,
    resolve_service_account,
)
from .outputs import ServiceAccountKeyOutputs

API_KEY_RULE = (
    "Skyflow's rule: a service account set up for API keys cannot generate bearer tokens, so it "
    "has no key pairs; create the service account with auth_type='jwt'"
)


class ServiceAccountKeyProvider(RotatingProvider):
    """CRUD for /v1/serviceAccounts/{ID}/keys, plus in-place rotation (see rotation.py).

    The resource id stays the first key's id (Pulumi cannot change an id in an update);
    ``key_id`` is the current key.
    """

    spec = SERVICE_ACCOUNT_KEY
    slots = JWT_SLOTS

    def rotation_label(self, id_: str, olds: Mapping[str, Any]) -> str:
        return f"service account {olds.get('service_account_id')}: key"

    def rotation_note(self, id_: str, olds: Mapping[str, Any]) -> str:
        return f"service account {olds.get('service_account_id')}: key {olds.get('key_id')}"

    def validate(self, news: dict[str, Any]) -> list[CheckFailure]:
        f = v.check_unknown_keys(news, self.input_keys)
        f += check_key_target(news, "api_key", API_KEY_RULE)
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
        outs: dict[str, Any] = {k: props.get(k) for k in self.input_keys}
        outs.update({k: None for k in self.output_keys})
        outs.update(fresh)
        outs["key_created_at"] = rotation.fmt(rotation.later(rotation.now(),
                                                             fresh["valid_after"]))
        rotation.finish(outs, props)
        return CreateResult(fresh["key_id"], outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        sa_id = props.get("service_account_id") or ""
        key_id = props.get("key_id") or id_
        outs = {k: props.get(k) for k in self.spec.state_keys}
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
        return ReadResult(id_, outs, {k: outs.get(k) for k in self.input_keys})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        outs = carry(olds, self.output_keys)
        outs.update({k: news.get(k) for k in self.input_keys})
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


class ServiceAccountKey(ServiceAccountKeyOutputs, Resource, module="skyflow",
                        name="ServiceAccountKey"):
    """An extra key pair of a JWT service account; ``private_key``/``credentials`` are secret."""

    def __init__(
        self,
        resource_name: str,
        args: ServiceAccountKeyArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props, opts = declare(SERVICE_ACCOUNT_KEY, args, kwargs, ServiceAccountKeyArgs, opts)
        super().__init__(ServiceAccountKeyProvider(), resource_name,
                         resolve_service_account(props), opts)


__all__ = ["ServiceAccountKey", "ServiceAccountKeyArgs", "ServiceAccountKeyProvider"]
