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
from pulumi.dynamic import Resource

from ..api import idempotency
from ..http.errors import SkyflowError
from .args import ServiceAccountKeyArgs
from .base import declare, raise_clean
from .declarations import SERVICE_ACCOUNT_KEY
from .extra_keys import ExtraKeyProvider
from .keys import JWT_SLOTS, key_outputs, resolve_service_account
from .outputs import ServiceAccountKeyOutputs

API_KEY_RULE = (
    "Skyflow's rule: a service account set up for API keys cannot generate bearer tokens, so it "
    "has no key pairs; create the service account with auth_type='jwt'"
)


class ServiceAccountKeyProvider(ExtraKeyProvider):
    """/v1/serviceAccounts/{ID}/keys, plus in-place rotation (see extra_keys.py)."""

    spec = SERVICE_ACCOUNT_KEY
    what = "key"
    wrong_auth_type = "api_key"
    rule = API_KEY_RULE
    created_output = "valid_after"
    secret_outputs_of_key = ("private_key", "credentials")
    slots = JWT_SLOTS

    def mint(self, sa_id: str) -> dict[str, Any]:
        try:
            resp = idempotency.create_key(self.client, sa_id)
        except SkyflowError as err:
            hint = API_KEY_RULE if getattr(err, "status", None) in (400, 412) else None
            raise_clean(err, f"create key for service account {sa_id}", hint)
        return key_outputs(sa_id, resp, "create")

    def rotate(self, sa_id: str, key_id: str) -> dict[str, Any]:
        resp = self.client.rotate_key(sa_id, key_id)  # errors as is: see KeyOps
        return key_outputs(sa_id, resp, "rotate")

    def get(self, sa_id: str, key_id: str) -> dict[str, Any] | None:
        got: dict[str, Any] | None = self.call(f"read key {key_id}", self.client.get_key, sa_id,
                                               key_id, missing_ok=True)
        if got is not None and isinstance(got.get("key"), Mapping):
            return dict(got["key"])
        return got

    def remove(self, sa_id: str, key_id: str) -> None:
        self.call(f"delete key {key_id}", self.client.delete_key, sa_id, key_id, missing_ok=True)

    def read_back(self, got: Mapping[str, Any], props: Mapping[str, Any], key_id: str
                  ) -> dict[str, Any]:
        return {"key_id": got.get("keyID") or key_id,
                "valid_after": got.get("validAfterTime") or props.get("valid_after") or "",
                "valid_before": got.get("validBeforeTime") or props.get("valid_before") or ""}


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
