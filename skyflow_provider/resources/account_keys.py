"""Keys of a ``ServiceAccount``: minting, the drift report, and ``exclusive_keys``.

Why apart from ``service_account.py``: the account's own CRUD (settings, adopt, read) and what it
does with the account's keys are two jobs; this mixin is the second. A JWT account holds a key
pair (credentials.json), an API-key account an API key; both rotate through ``rotation``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..api import idempotency
from ..http.errors import SkyflowError
from . import rotation
from .base import SkyflowProviderError, raise_clean
from .keys import JWT_SLOTS, RotatingProvider, guarded_mint, key_outputs, list_key_ids

#: An API-key account's key outputs.
API_KEY_SLOTS = rotation.KeySlots(
    ("api_key_id", "api_key", "valid_after"),
    {"api_key_id": "previous_key_id", "api_key": "previous_api_key"},
)


def key_field(props: Mapping[str, Any]) -> str:
    """Which output holds the current key's id (JWT key pair or API key)."""
    return "api_key_id" if props.get("auth_type") == "api_key" else "key_id"


def slots_for(api_key_mode: bool) -> rotation.KeySlots:
    return API_KEY_SLOTS if api_key_mode else JWT_SLOTS


class AccountKeys(RotatingProvider):
    """The key half of ``ServiceAccountProvider``."""

    def key_field(self, olds: Mapping[str, Any]) -> str:
        return key_field(olds)

    def rotation_label(self, id_: str, olds: Mapping[str, Any]) -> str:
        return f"service account {id_}: key"

    def rotation_note(self, id_: str, olds: Mapping[str, Any]) -> str:
        return f"service account {id_}"

    def extra_changes(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
        """exclusive_keys turned on while a refresh found keys this resource does not hold."""
        return news.get("exclusive_keys") is True and bool(olds.get("unmanaged_key_ids"))

    def _mint(self, sa_id: str, api_key_mode: bool) -> dict[str, Any]:
        """A new key (JWT key pair or API key) for the account, as output values, behind the
        guards every key mint has (``keys.guarded_mint``)."""
        kind = "API key" if api_key_mode else "key"
        delete = self.client.delete_api_key if api_key_mode else self.client.delete_key
        return guarded_mint(self, kind, sa_id, lambda: self._mint_key(sa_id, api_key_mode),
                            "api_key_id" if api_key_mode else "key_id",
                            lambda key_id: self.call(f"delete {kind} {key_id}", delete, sa_id,
                                                     key_id, missing_ok=True))

    def _mint_key(self, sa_id: str, api_key_mode: bool) -> dict[str, Any]:
        if not api_key_mode:
            try:
                resp = idempotency.create_key(self.client, sa_id)
            except SkyflowError as err:
                hint = ("auth_type is 'jwt' but the account is set up for API keys; set "
                        "auth_type='api_key'") if getattr(err, "status", None) in (400, 412) \
                    else None
                raise_clean(err, f"create key for service account {sa_id}", hint)
            return key_outputs(sa_id, resp, "create")
        try:
            resp = idempotency.create_api_key(self.client, sa_id)
        except SkyflowError as err:
            hint = ("auth_type is 'api_key' but the account is set up for bearer tokens; set "
                    "auth_type='jwt'") if getattr(err, "status", None) in (400, 412) else None
            raise_clean(err, f"create API key for service account {sa_id}", hint)
        return self._api_key_outputs(sa_id, resp)

    def _api_key_outputs(self, sa_id: str, resp: Mapping[str, Any]) -> dict[str, Any]:
        key_id = resp.get("apiKeyID") or ""
        if not key_id or not resp.get("apiKey"):
            raise SkyflowProviderError(f"Skyflow: API key for service account {sa_id}: the "
                                       "response had no key")
        got = self.call("read API key", self.client.get_api_key, sa_id, key_id,
                        missing_ok=True) or {}
        return {"api_key_id": key_id, "api_key": resp["apiKey"],
                "valid_after": got.get("keyValidAfterTime") or None}

    def _ops(self, sa_id: str, api_key_mode: bool) -> rotation.KeyOps:
        if api_key_mode:
            return rotation.KeyOps(
                mint=lambda: self._mint(sa_id, True),
                delete=lambda key_id: self.call(f"delete API key {key_id}",
                                                self.client.delete_api_key, sa_id, key_id,
                                                missing_ok=True),
                rotate_in_place=lambda key_id: self._api_key_outputs(
                    sa_id, self.client.rotate_api_key(sa_id, key_id)),
            )
        return rotation.KeyOps(
            mint=lambda: self._mint(sa_id, False),
            delete=lambda key_id: self.call(f"delete key {key_id}", self.client.delete_key,
                                            sa_id, key_id, missing_ok=True),
            rotate_in_place=lambda key_id: key_outputs(
                sa_id, self.client.rotate_key(sa_id, key_id), "rotate"),
        )

    def _list_key_ids(self, sa_id: str, api_key_mode: bool) -> list[str] | None:
        """Ids of the account's keys of its kind; None when Skyflow would not list them."""
        try:
            return list_key_ids(self.client, sa_id, api_key_mode)
        except SkyflowError as err:
            rotation.warn(f"could not list the keys of service account {sa_id} ({err}); no "
                          "drift report this time")
            return None

    def _delete_unmanaged(self, sa_id: str, api_key_mode: bool, keep: set[str]) -> list[str]:
        """exclusive_keys: delete every key this resource does not hold; returns what is left."""
        ids = self._list_key_ids(sa_id, api_key_mode)
        if ids is None:
            return []
        left = []
        for key_id in ids:
            if key_id in keep:
                continue
            ops = self._ops(sa_id, api_key_mode)
            try:
                ops.delete(key_id)
            except Exception as err:  # noqa: BLE001 - report, retry on the next up
                rotation.warn(f"exclusive_keys: could not delete key {key_id} of service "
                              f"account {sa_id} ({err})")
                left.append(key_id)
        return left

    def _read_keys(self, sa_id: str, outs: dict[str, Any]) -> None:
        """Drift report: the current key deleted out of band (the next up mints one), the
        previous key gone early, and keys on the account that this resource does not hold."""
        api_key_mode = outs.get("auth_type") == "api_key"
        ids = self._list_key_ids(sa_id, api_key_mode)
        if ids is None:
            return
        slots = slots_for(api_key_mode)
        current = outs.get(slots.id_key)
        if current and current not in ids:
            rotation.warn(f"key {current} of service account {sa_id} was deleted outside "
                          "Pulumi; the next `pulumi up` mints a new one")
            for name in slots.current:
                outs[name] = None
            outs[slots.id_key] = rotation.MISSING
            outs["private_key" if not api_key_mode else "api_key"] = None
            if not api_key_mode:
                outs["credentials"] = None
            current = None
        previous = outs.get("previous_key_id")
        if previous and previous not in ids:
            for name in slots.previous.values():
                outs[name] = None
            outs["previous_key_delete_after"] = None
            previous = None
        unmanaged = sorted(set(ids) - {current, previous} - {None})
        outs["unmanaged_key_ids"] = unmanaged
        if unmanaged:
            rotation.warn(f"service account {sa_id} ({outs.get('name')}) has "
                          f"{len(unmanaged)} key(s) this resource does not manage: "
                          f"{', '.join(unmanaged)}. Delete them, or set exclusive_keys=True to "
                          "have the next up delete them (keys of ServiceAccountKey/ApiKey "
                          "resources on this account are listed here too)")
