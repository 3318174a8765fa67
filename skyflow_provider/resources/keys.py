"""What the three key-holding resources share: ServiceAccount, ServiceAccountKey and ApiKey.

Why one module: each holds "a current key" the same way (credentials.json built the same way,
the same slots for current and previous key, the same rotation part of ``diff``), and an extra
key resource names its account the same way (``service_account=`` or ``service_account_id``,
``keepers``). Written once here, no resource module imports another.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from pulumi.dynamic import CheckFailure, DiffResult

from ..auth.credentials import FIELDS as CREDENTIAL_FIELDS
from ..recovery import ledger
from ..recovery.leftovers import LEFTOVERS, Minting
from . import checks as v
from . import rotation
from .base import SkyflowProvider, SkyflowProviderError

#: credentials.json keys, in the order Studio writes them (the token library's own list)
CREDENTIAL_KEYS = CREDENTIAL_FIELDS

#: A JWT key pair's outputs (ServiceAccount of auth_type jwt, ServiceAccountKey).
JWT_SLOTS = rotation.KeySlots(
    ("key_id", "private_key", "credentials", "valid_after", "valid_before"),
    {"key_id": "previous_key_id", "private_key": "previous_private_key",
     "credentials": "previous_credentials"},
)


def credentials_json(resp: Mapping[str, Any]) -> str:
    """The credentials.json text exactly as Studio downloads it (same keys, same order).

    The same bytes as ``credentials.Credentials.to_json`` (the token library and the stack
    output agree), built from the response fields without parsing the new private key: that
    parse (with cryptography's RSA check) cost ~35 ms per account, 15% of create. A bad key is
    refused by the token endpoint at first use; the account already exists here, so failing
    would only leak it.
    """
    data = {k: str(resp.get(k) or "") for k in CREDENTIAL_KEYS}
    for k in ("clientID", "keyID", "tokenURI"):  # credentials_from_dict strips these three
        data[k] = data[k].strip()
    return json.dumps(data)


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


def list_key_ids(client: Any, sa_id: str, api_keys: bool) -> list[str]:
    """Ids of an account's live keys of one kind (key pairs or API keys)."""
    items = client.list_api_keys(sa_id) if api_keys else client.list_keys(sa_id)
    return [str(k.get("keyID")) for k in items
            if k.get("keyID") and str(k.get("status") or "").upper() != "DELETED"]


def guarded_mint(p: SkyflowProvider, kind: str, sa_id: str, mint: Callable[[], dict[str, Any]],
                 id_output: str, delete: Callable[[str], Any]) -> dict[str, Any]:
    """``mint`` a key of ``kind`` ("key", "API key") on an account, for any of the three
    key-holding resources: a killed run's leftovers there go first (``leftovers.py``), and the
    new key is undone when its engine is gone (``ledger.deliver``)."""
    p.call(f"sweep the {kind}s of service account {sa_id}", LEFTOVERS.before_mint, p.client,
           Minting(kind, sa_id), lambda: list_key_ids(p.client, sa_id, kind != "key"), delete,
           rotation.warn)
    with ledger.making(f"{kind} of service account {sa_id}"):
        fresh = mint()
        key_id = str(fresh[id_output])
        ledger.deliver(key_id, lambda: delete(key_id),
                       f"{kind} {key_id} of service account {sa_id}")
    return fresh


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


def check_key_target(news: Mapping[str, Any], wrong_type: str, rule: str) -> list[CheckFailure]:
    """service_account_id, the auth-type hint and keepers of an extra key resource; an account
    of ``wrong_type`` (known from the hint) is refused at preview with Skyflow's rule."""
    f = v.check_id("service_account_id", news.get("service_account_id"))
    hint = news.get("service_account_auth_type")
    f += v.check_enum("service_account_auth_type", hint, ("jwt", "api_key"))
    if hint == wrong_type:
        kind = "a JWT" if wrong_type == "jwt" else "an API-key"
        f.append(CheckFailure("service_account_id",
                              f"service_account_id is {kind} service account. {rule}"))
    f += check_keepers(news.get("keepers"))
    return f


class RotatingProvider(SkyflowProvider):
    """A provider whose resource holds a current key that rotates in place.

    The rotation part of ``diff`` lives here once: after the input diff, if nothing replaces,
    ask ``rotation.plan`` whether the key is due (trigger changed, age, expiry, a passed overlap
    window, a key deleted out of band), print its warnings and a note, and mark a change.
    """

    def key_field(self, olds: Mapping[str, Any]) -> str:
        """Which output holds the current key's id."""
        return "key_id"

    def rotation_label(self, id_: str, olds: Mapping[str, Any]) -> str:
        """What the plan's warnings call the key."""
        raise NotImplementedError

    def rotation_note(self, id_: str, olds: Mapping[str, Any]) -> str:
        """The prefix of the note printed when a rotation is planned."""
        raise NotImplementedError

    def extra_changes(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
        """Other reasons for an in-place update that no input shows."""
        return False

    def changed_keys(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        olds, news = self.stated_inputs(olds), self.stated_inputs(news)
        return [k for k in self.compared_keys if rotation.input_changed(k, olds, news)]

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        result = super().diff(id_, olds, news)
        if result.replaces:
            return result
        the_plan = rotation.plan(olds, news, self.key_field(olds), rotation.now(),
                                 self.rotation_label(id_, olds))
        for message in the_plan.warnings:
            rotation.warn(message)
        if the_plan.needed:
            rotation.note(f"{self.rotation_note(id_, olds)}: {the_plan.describe()}")
        if the_plan.needed or self.extra_changes(olds, news):
            result.changes = True
        return result
