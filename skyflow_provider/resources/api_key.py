"""``ApiKey``: an additional API key for an API-key service account.

Why a separate resource: rotating or adding a key must not replace the service account (and
with it every role assignment). Skyflow returns the key value only once, at creation, so it is
kept as a secret output and carried over. Rotation (``rotation_trigger``/``rotate_after_days``)
updates the resource in place: the new key is minted and published first, the previous one stays
valid for ``overlap_hours`` (docs/rotation.md). ``keepers`` keeps its old replace semantics.
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
from .args import ApiKeyArgs
from .base import SkyflowProviderError, carry, declare, raise_clean
from .declarations import API_KEY
from .keys import RotatingProvider, check_key_target, resolve_service_account
from .outputs import ApiKeyOutputs

JWT_RULE = (
    "Skyflow's rule: a service account set up for bearer tokens (JWT) cannot have API keys; "
    "create the service account with auth_type='api_key'"
)


class ApiKeyProvider(RotatingProvider):
    """CRUD for /v1/serviceAccounts/{ID}/apikey, plus in-place rotation (see rotation.py).

    The resource id stays the first key's id for the resource's whole life (Pulumi cannot change
    an id in an update); ``key_id`` is the current key.
    """

    spec = API_KEY
    slots = rotation.KeySlots(("key_id", "api_key", "created_at"),
                              {"key_id": "previous_key_id", "api_key": "previous_api_key"})

    def rotation_label(self, id_: str, olds: Mapping[str, Any]) -> str:
        return f"service account {olds.get('service_account_id')}: API key"

    def rotation_note(self, id_: str, olds: Mapping[str, Any]) -> str:
        return f"service account {olds.get('service_account_id')}: API key {olds.get('key_id')}"

    def validate(self, news: dict[str, Any]) -> list[CheckFailure]:
        f = v.check_unknown_keys(news, self.input_keys)
        f += check_key_target(news, "jwt", JWT_RULE)
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
        outs: dict[str, Any] = {k: props.get(k) for k in self.input_keys}
        outs.update({k: None for k in self.output_keys})
        outs.update(fresh)
        outs["key_created_at"] = rotation.fmt(rotation.later(rotation.now(), fresh["created_at"]))
        rotation.finish(outs, props)
        return CreateResult(fresh["key_id"], outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        sa_id = props.get("service_account_id") or ""
        key_id = props.get("key_id") or id_
        outs = {k: props.get(k) for k in self.spec.state_keys}
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
        return ReadResult(id_, outs, {k: outs.get(k) for k in self.input_keys})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        outs = carry(olds, self.output_keys)
        outs.update({k: news.get(k) for k in self.input_keys})
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


class ApiKey(ApiKeyOutputs, Resource, module="skyflow", name="ApiKey"):
    """An additional API key of an API-key service account; ``api_key`` is always secret."""

    def __init__(
        self,
        resource_name: str,
        args: ApiKeyArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props, opts = declare(API_KEY, args, kwargs, ApiKeyArgs, opts)
        super().__init__(ApiKeyProvider(), resource_name, resolve_service_account(props), opts)


__all__ = ["ApiKey", "ApiKeyArgs", "ApiKeyProvider"]
