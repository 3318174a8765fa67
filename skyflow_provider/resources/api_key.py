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
from pulumi.dynamic import Resource

from ..api import idempotency
from ..http.errors import SkyflowError
from . import rotation
from .args import ApiKeyArgs
from .base import SkyflowProviderError, declare, raise_clean
from .declarations import API_KEY
from .extra_keys import ExtraKeyProvider
from .keys import resolve_service_account
from .outputs import ApiKeyOutputs

JWT_RULE = (
    "Skyflow's rule: a service account set up for bearer tokens (JWT) cannot have API keys; "
    "create the service account with auth_type='api_key'"
)


class ApiKeyProvider(ExtraKeyProvider):
    """/v1/serviceAccounts/{ID}/apikey, plus in-place rotation (see extra_keys.py)."""

    spec = API_KEY
    what = "API key"
    wrong_auth_type = "jwt"
    rule = JWT_RULE
    created_output = "created_at"
    secret_outputs_of_key = ("api_key", "created_at")
    slots = rotation.KeySlots(("key_id", "api_key", "created_at"),
                              {"key_id": "previous_key_id", "api_key": "previous_api_key"})

    def mint(self, sa_id: str) -> dict[str, Any]:
        try:
            resp = idempotency.create_api_key(self.client, sa_id)
        except SkyflowError as err:
            hint = JWT_RULE if getattr(err, "status", None) in (400, 412) else None
            raise_clean(err, f"create API key for service account {sa_id}", hint)
        return self._key_outputs(sa_id, resp, "create")

    def rotate(self, sa_id: str, key_id: str) -> dict[str, Any]:
        resp = self.client.rotate_api_key(sa_id, key_id)  # errors as is: see KeyOps
        return self._key_outputs(sa_id, resp, "rotate")

    def get(self, sa_id: str, key_id: str) -> dict[str, Any] | None:
        got: dict[str, Any] | None = self.call(f"read API key {key_id}", self.client.get_api_key,
                                               sa_id, key_id, missing_ok=True)
        return got

    def remove(self, sa_id: str, key_id: str) -> None:
        self.call(f"delete API key {key_id}", self.client.delete_api_key, sa_id, key_id,
                  missing_ok=True)

    def read_back(self, got: Mapping[str, Any], props: Mapping[str, Any], key_id: str
                  ) -> dict[str, Any]:
        return {"key_id": got.get("keyID") or key_id,
                "created_at": got.get("keyValidAfterTime") or props.get("created_at") or ""}

    def _key_outputs(self, sa_id: str, resp: Mapping[str, Any], verb: str) -> dict[str, Any]:
        key_id = resp.get("apiKeyID") or resp.get("keyID") or ""
        api_key = resp.get("apiKey") or ""
        if not key_id or not api_key:
            raise SkyflowProviderError(
                f"Skyflow: {verb} API key for service account {sa_id} returned no key. {JWT_RULE}"
            )
        created_at = resp.get("keyValidAfterTime") or ""
        if not created_at:
            got = self.get(sa_id, key_id) or {}
            created_at = got.get("keyValidAfterTime") or ""
        return {"key_id": key_id, "api_key": api_key, "created_at": created_at}


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
