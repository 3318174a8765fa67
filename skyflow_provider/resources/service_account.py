"""``ServiceAccount``: a Skyflow service account (JWT key pair or API key) as a Pulumi resource.

Why the shape: Skyflow returns the private key / API key only in the create response, so the
provider captures it once, stores it as an encrypted secret output and carries it over on every
update and refresh. Settings that Skyflow can PATCH update in place; ``name`` and ``auth_type``
cannot change, so they replace.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
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

AUTH_TYPES = ("jwt", "api_key")
ALLOWLIST_STATUSES = ("INACTIVE", "ACTIVE_ALL", "ACTIVE_AUTH_ONLY")
CREDENTIAL_KEYS = (
    "clientID",
    "clientName",
    "tokenURI",
    "keyID",
    "privateKey",
    "keyValidAfterTime",
    "keyValidBeforeTime",
    "keyAlgorithm",
)

SETTINGS_KEYS = (
    "display_name",
    "description",
    "enforce_context_id",
    "enforce_signed_data_tokens",
    "ip_allowlist",
)
INPUT_KEYS = (
    "name",
    "display_name",
    "description",
    "auth_type",
    "enforce_context_id",
    "enforce_signed_data_tokens",
    "ip_allowlist",
    "adopt_id",
    "exclusive_keys",
    *rotation.ROTATION_INPUTS,
)
OUTPUT_KEYS = (
    "client_id",
    "client_name",
    "token_uri",
    "namespace",
    "key_id",
    "private_key",
    "credentials",
    "valid_after",
    "valid_before",
    "api_key_id",
    "api_key",
    "previous_private_key",
    "previous_credentials",
    "previous_api_key",
    "unmanaged_key_ids",
    *rotation.ROTATION_OUTPUTS,
)
SECRET_OUTPUTS = ("private_key", "credentials", "api_key", "previous_private_key",
                  "previous_credentials", "previous_api_key")
GENERATED_KEYS = ("client_id", "token_uri", "key_id", "private_key", "credentials", "api_key_id",
                  "api_key")
JWT_SLOTS = rotation.KeySlots(
    ("key_id", "private_key", "credentials", "valid_after", "valid_before"),
    {"key_id": "previous_key_id", "private_key": "previous_private_key",
     "credentials": "previous_credentials"},
)
API_KEY_SLOTS = rotation.KeySlots(
    ("api_key_id", "api_key", "valid_after"),
    {"api_key_id": "previous_key_id", "api_key": "previous_api_key"},
)


@dataclass
class IpAllowlistArgs:
    """Where the service account may be used from."""

    status: pulumi.Input[str] = "INACTIVE"
    """INACTIVE (not enforced), ACTIVE_ALL (every call) or ACTIVE_AUTH_ONLY (token minting)."""
    cidr_blocks: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    """Up to 10 IPv4/IPv6 CIDR blocks."""


@dataclass
class ServiceAccountArgs:
    """Inputs of a ServiceAccount."""

    name: pulumi.Input[str]
    """Unique name; changing it replaces the account (Skyflow cannot rename)."""
    display_name: pulumi.Input[str] | None = None
    """Shown in Studio; defaults to ``name``. Updates in place."""
    description: pulumi.Input[str] | None = None
    """Free text (<= 1024 chars). Updates in place."""
    auth_type: pulumi.Input[str] | None = None
    """``"jwt"`` (default: key pair + credentials.json) or ``"api_key"``. Changing it replaces."""
    enforce_context_id: pulumi.Input[bool] | None = None
    """Require a ``ctx`` claim in every JWT assertion. Updates in place."""
    enforce_signed_data_tokens: pulumi.Input[bool] | None = None
    """Require data tokens signed with this account's key. Updates in place."""
    ip_allowlist: IpAllowlistArgs | Mapping[str, Any] | None = None
    """IP allowlist (status + CIDR blocks). Updates in place."""
    adopt_id: pulumi.Input[str] | None = None
    """Bring this existing service account (its id) under management instead of creating one
    (``pulumi import`` does not work for dynamic resources). Its settings are set to the declared
    ones and, since Skyflow never returns an existing secret, a fresh key is minted."""
    exclusive_keys: pulumi.Input[bool] | None = None
    """Delete every key of the account that this resource does not hold (at adoption, and on any
    up after a refresh found some). Do not combine with ServiceAccountKey/ApiKey resources on the
    same account."""
    rotation_trigger: pulumi.Input[Any] | None = None
    """Any value; changing it rotates the account's key in place (new key first)."""
    rotate_after_days: pulumi.Input[float] | None = None
    """Rotate once the current key is this many days old, or when it is about to expire."""
    overlap_hours: pulumi.Input[float] | None = None
    """How long the previous key stays valid after a rotation (default 24; 0 = at once)."""


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


def _allowlist_body(allowlist: Mapping[str, Any] | None) -> dict[str, Any]:
    allowlist = allowlist or {}
    return {
        "status": allowlist.get("status") or "INACTIVE",
        "cidrBlocks": list(allowlist.get("cidr_blocks") or []),
    }


def _allowlist_from_api(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    raw = raw or {}
    return {
        "status": raw.get("status") or "INACTIVE",
        "cidr_blocks": list(raw.get("cidrBlocks") or []),
    }


class ServiceAccountProvider(SkyflowProvider):
    """CRUD for /v1/serviceAccounts."""

    input_keys = INPUT_KEYS
    output_keys = OUTPUT_KEYS
    replace_keys = ("name", "auth_type")

    def changed_keys(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        # adopt_id only matters at creation (diff replaces when it names another account).
        return [k for k in self.input_keys
                if k != "adopt_id" and rotation.input_changed(k, olds, news)]

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """A rename creates the new account first (no credential gap); an auth-type change with
        the same name must delete first, because the name is taken until then. Key rotation,
        a passed overlap window or a key deleted out of band update in place."""
        result = super().diff(id_, olds, news)
        adopt = news.get("adopt_id")
        if adopt and not rotation.is_unknown(adopt) and adopt != id_:
            result.replaces = [*(result.replaces or []), "adopt_id"]
            result.changes = True
        replaces = result.replaces or []
        result.delete_before_replace = "auth_type" in replaces and "name" not in replaces
        if replaces:
            return result
        the_plan = rotation.plan(olds, news, _key_field(olds), rotation.now(),
                                 f"service account {id_}: key")
        for message in the_plan.warnings:
            rotation.warn(message)
        if the_plan.needed:
            rotation.note(f"service account {id_}: {the_plan.describe()}")
        if the_plan.needed or (news.get("exclusive_keys") is True
                               and olds.get("unmanaged_key_ids")):
            result.changes = True
        return result

    def apply_defaults(self, news: dict[str, Any]) -> dict[str, Any]:
        out = dict(news)
        out.setdefault("auth_type", "jwt")
        if out.get("display_name") in (None, ""):
            out["display_name"] = out.get("name")
        out.setdefault("description", "")
        out.setdefault("enforce_context_id", False)
        out.setdefault("enforce_signed_data_tokens", False)
        allowlist = out.get("ip_allowlist")
        if allowlist is None:
            out["ip_allowlist"] = {"status": "INACTIVE", "cidr_blocks": []}
        elif isinstance(allowlist, Mapping):
            filled = dict(allowlist)
            filled.setdefault("status", "INACTIVE")
            filled.setdefault("cidr_blocks", [])
            out["ip_allowlist"] = filled
        return out

    def validate(self, news: dict[str, Any]) -> list[CheckFailure]:
        f = v.check_unknown_keys(news, INPUT_KEYS)
        f += v.check_name("name", news.get("name"))
        f += v.check_string("display_name", news.get("display_name"), max_len=v.MAX_NAME)
        f += v.check_string("description", news.get("description"), max_len=v.MAX_DESCRIPTION,
                            single_line=False)
        f += v.check_enum("auth_type", news.get("auth_type"), AUTH_TYPES)
        f += v.check_bool("enforce_context_id", news.get("enforce_context_id"))
        f += v.check_bool("enforce_signed_data_tokens", news.get("enforce_signed_data_tokens"))
        f += v.check_id("adopt_id", news.get("adopt_id"), required=False)
        f += v.check_bool("exclusive_keys", news.get("exclusive_keys"))
        f += rotation.validate(news)
        if news.get("auth_type") == "api_key" and news.get("enforce_signed_data_tokens") is True:
            f.append(CheckFailure(
                "enforce_signed_data_tokens",
                "enforce_signed_data_tokens needs a private key, which api_key service accounts "
                "do not have; use auth_type 'jwt' or set it to false",
            ))
        allowlist = news.get("ip_allowlist")
        f += v.check_mapping("ip_allowlist", allowlist, ("status", "cidr_blocks"))
        if isinstance(allowlist, Mapping):
            status = allowlist.get("status")
            blocks = allowlist.get("cidr_blocks")
            f += v.check_enum("ip_allowlist.status", status, ALLOWLIST_STATUSES)
            f += v.check_cidr_blocks("ip_allowlist.cidr_blocks", blocks)
            if (
                status in ("ACTIVE_ALL", "ACTIVE_AUTH_ONLY")
                and isinstance(blocks, (list, tuple))
                and len(blocks) == 0
            ):
                f.append(CheckFailure(
                    "ip_allowlist.cidr_blocks",
                    f"ip_allowlist.status is {status} but cidr_blocks is empty, which would lock "
                    "the account out; add at least one CIDR block or use status INACTIVE",
                ))
        return f

    # ----- bodies ------------------------------------------------------------------------------
    @staticmethod
    def _bodies(props: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        sa = {
            "displayName": props.get("display_name") or props.get("name"),
            "description": props.get("description") or "",
            "ipAllowlist": _allowlist_body(props.get("ip_allowlist")),
        }
        cc = {
            "enforceContextID": bool(props.get("enforce_context_id")),
            "enforceSignedDataTokens": bool(props.get("enforce_signed_data_tokens")),
        }
        return sa, cc

    def _inputs(self, props: Mapping[str, Any]) -> dict[str, Any]:
        return {k: props.get(k) for k in INPUT_KEYS}

    # ----- keys --------------------------------------------------------------------------------
    def _mint(self, sa_id: str, api_key_mode: bool) -> dict[str, Any]:
        """A new key (JWT key pair or API key) for the account, as output values."""
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
            items = (self.client.list_api_keys(sa_id) if api_key_mode
                     else self.client.list_keys(sa_id))
        except SkyflowError as err:
            rotation.warn(f"could not list the keys of service account {sa_id} ({err}); no "
                          "drift report this time")
            return None
        return [str(k.get("keyID")) for k in items
                if k.get("keyID") and str(k.get("status") or "").upper() != "DELETED"]

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

    # ----- CRUD --------------------------------------------------------------------------------
    def create(self, props: dict[str, Any]) -> CreateResult:
        props = self.apply_defaults(props)
        if props.get("adopt_id"):
            return self._adopt(props)
        sa, cc = self._bodies(props)
        body: dict[str, Any] = {"serviceAccount": {"name": props["name"], **sa},
                                "clientConfiguration": cc}
        api_key_mode = props.get("auth_type") == "api_key"
        if api_key_mode:
            body["apiKeyEnabled"] = True
        resp = self.call(f"create service account {props['name']!r}",
                         idempotency.create_service_account, self.client, body)
        client_id = resp.get("clientID") or ""
        if not client_id:
            raise SkyflowProviderError("Skyflow: create service account returned no clientID")
        with self.undo_on_failure(lambda: self.client.delete_service_account(client_id)):
            outs = self._outputs(props, resp, client_id, api_key_mode)
        return CreateResult(client_id, outs)

    def _adopt(self, props: dict[str, Any]) -> CreateResult:
        """Take over an existing account: declared settings applied, a fresh key minted.

        Nothing is deleted if this fails (the account was not ours to begin with).
        """
        sa_id = str(props["adopt_id"])
        got = self.call(f"adopt service account {sa_id}", self.client.get_service_account,
                        sa_id, missing_ok=True)
        remote = (got or {}).get("serviceAccount") or {}
        if got is None or remote.get("status") == "DELETED":
            raise SkyflowProviderError(f"adopt_id {sa_id}: Skyflow has no such service account; "
                                       "check the id (Studio > Service accounts) or remove "
                                       "adopt_id to create a new account")
        if remote.get("name") and remote["name"] != props["name"]:
            raise SkyflowProviderError(
                f"adopt_id {sa_id}: the account is named {remote['name']!r} but name is "
                f"{props['name']!r}; Skyflow cannot rename accounts, so set name="
                f"{remote['name']!r}"
            )
        sa, cc = self._bodies(props)
        self.call(f"update service account {sa_id}", self.client.update_service_account,
                  sa_id, {"serviceAccount": sa, "clientConfiguration": cc})
        api_key_mode = props.get("auth_type") == "api_key"
        fresh = self._mint(sa_id, api_key_mode)
        outs = self._inputs(props)
        outs.update({k: None for k in OUTPUT_KEYS})
        outs.update(fresh)
        outs.update(client_id=sa_id, client_name=remote.get("name") or props["name"],
                    namespace=remote.get("namespace") or "")
        if not api_key_mode:
            outs["token_uri"] = json.loads(fresh["credentials"]).get("tokenURI") or ""
        outs["key_created_at"] = rotation.fmt(rotation.later(rotation.now(),
                                                             fresh.get("valid_after")))
        keep = {str(fresh[_key_field(outs)])}
        if props.get("exclusive_keys") is True:
            outs["unmanaged_key_ids"] = self._delete_unmanaged(sa_id, api_key_mode, keep)
        else:
            ids = self._list_key_ids(sa_id, api_key_mode) or []
            outs["unmanaged_key_ids"] = sorted(set(ids) - keep)
            if outs["unmanaged_key_ids"]:
                rotation.warn(f"adopted service account {sa_id} has keys this stack does not "
                              f"manage: {', '.join(outs['unmanaged_key_ids'])} (set "
                              "exclusive_keys=True to delete them)")
        rotation.finish(outs, props)
        return CreateResult(sa_id, outs)

    def _outputs(
        self, props: Mapping[str, Any], resp: Mapping[str, Any], client_id: str, api_key_mode: bool
    ) -> dict[str, Any]:
        """Outputs of a fresh account; raises if Skyflow returned no credential."""
        outs = self._inputs(props)
        outs.update({k: None for k in OUTPUT_KEYS})
        outs.update(
            client_id=client_id,
            client_name=resp.get("clientName") or props["name"],
            token_uri=resp.get("tokenURI") or "",
            namespace=str(resp.get("namespace") or "") or self._namespace(client_id),
            unmanaged_key_ids=[],
        )
        if api_key_mode:
            outs["api_key_id"] = resp.get("apiKeyID") or ""
            outs["api_key"] = resp.get("apiKey") or ""
            if not outs["api_key"]:
                raise SkyflowProviderError(
                    f"Skyflow created service account {client_id} but returned no API key, so it "
                    "was deleted again; API-key service accounts may need to be enabled for "
                    "this account by Skyflow"
                )
        else:
            if not resp.get("privateKey"):
                raise SkyflowProviderError(
                    f"Skyflow created service account {client_id} but returned no private key, "
                    "so it was deleted again"
                )
            outs["key_id"] = resp.get("keyID") or ""
            outs["private_key"] = resp["privateKey"]
            outs["credentials"] = credentials_json(resp)
            outs["valid_after"] = resp.get("keyValidAfterTime") or None
            outs["valid_before"] = resp.get("keyValidBeforeTime") or None
        outs["key_created_at"] = rotation.fmt(rotation.later(rotation.now(),
                                                             outs.get("valid_after")))
        rotation.finish(outs, props)
        return outs

    def _namespace(self, client_id: str) -> str:
        """Best effort: the create response (v1CreateServiceAccountResponse, in the spec and the
        emulator) has no namespace; a GET has it. Used only when the response lacks it."""
        try:
            got = self.client.get_service_account(client_id)
        except Exception:  # noqa: BLE001 - never fail (and leak the account) over a label
            return ""
        return str((got.get("serviceAccount") or {}).get("namespace") or "")

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        got = self.call(f"read service account {id_}", self.client.get_service_account, id_,
                        missing_ok=True)
        if got is None:
            return ReadResult(None, {})
        sa = got.get("serviceAccount") or {}
        cc = got.get("clientConfiguration") or {}
        if sa.get("status") == "DELETED":
            return ReadResult(None, {})
        outs = dict(props)
        outs.pop("__provider", None)
        for key in OUTPUT_KEYS:
            outs.setdefault(key, None)
        outs.update(
            name=sa.get("name", props.get("name")),
            display_name=sa.get("displayName", props.get("display_name")),
            description=sa.get("description", props.get("description")) or "",
            enforce_context_id=bool(cc.get("enforceContextID", props.get("enforce_context_id"))),
            enforce_signed_data_tokens=bool(
                cc.get("enforceSignedDataTokens", props.get("enforce_signed_data_tokens"))
            ),
            ip_allowlist=_allowlist_from_api(sa.get("ipAllowlist"))
            if "ipAllowlist" in sa else props.get("ip_allowlist"),
            client_id=id_,
            client_name=sa.get("name", props.get("client_name")),
            namespace=sa.get("namespace") or props.get("namespace") or "",
        )
        # auth_type cannot be read back from Skyflow: keep what we created.
        outs["auth_type"] = props.get("auth_type") or ("api_key" if props.get("api_key") else "jwt")
        self._read_keys(id_, outs)
        return ReadResult(id_, outs, self._inputs(outs))

    def _read_keys(self, sa_id: str, outs: dict[str, Any]) -> None:
        """Drift report: the current key deleted out of band (the next up mints one), the
        previous key gone early, and keys on the account that this resource does not hold."""
        api_key_mode = outs.get("auth_type") == "api_key"
        ids = self._list_key_ids(sa_id, api_key_mode)
        if ids is None:
            return
        slots = API_KEY_SLOTS if api_key_mode else JWT_SLOTS
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

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        news = self.apply_defaults(news)
        outs = carry(olds, OUTPUT_KEYS)
        if any(rotation.input_changed(k, olds, news) for k in SETTINGS_KEYS):
            sa, cc = self._bodies(news)
            resp = self.call(f"update service account {id_}",
                             self.client.update_service_account,
                             id_, {"serviceAccount": sa, "clientConfiguration": cc})
            if isinstance(resp, Mapping) and resp.get("namespace"):
                outs["namespace"] = resp["namespace"]
        outs.update(self._inputs(news))
        outs["client_id"] = olds.get("client_id") or id_
        for key in GENERATED_KEYS:
            if olds.get(key) is not None:
                outs[key] = olds[key]
        api_key_mode = news.get("auth_type") == "api_key"
        at = rotation.now()
        the_plan = rotation.plan(olds, news, _key_field(olds), at,
                                 f"service account {id_}: key")
        rotation.apply(outs, news, the_plan, API_KEY_SLOTS if api_key_mode else JWT_SLOTS,
                       self._ops(id_, api_key_mode), at, "key")
        if news.get("exclusive_keys") is True and (olds.get("unmanaged_key_ids")
                                                   or olds.get("exclusive_keys") is not True):
            keep = {str(k) for k in (outs.get(_key_field(outs)), outs.get("previous_key_id"))
                    if k}
            outs["unmanaged_key_ids"] = self._delete_unmanaged(id_, api_key_mode, keep)
        return UpdateResult(outs)

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        self.call(f"delete service account {id_}", self.client.delete_service_account, id_,
                  missing_ok=True)


def _key_field(props: Mapping[str, Any]) -> str:
    """Which output holds the current key's id (JWT key pair or API key)."""
    return "api_key_id" if props.get("auth_type") == "api_key" else "key_id"


class ServiceAccount(Resource, module="skyflow", name="ServiceAccount"):
    """A Skyflow service account. Generated credentials are always secret outputs."""

    name: pulumi.Output[str]
    display_name: pulumi.Output[str]
    description: pulumi.Output[str]
    auth_type: pulumi.Output[str]
    enforce_context_id: pulumi.Output[bool]
    enforce_signed_data_tokens: pulumi.Output[bool]
    ip_allowlist: pulumi.Output[dict[str, Any]]
    client_id: pulumi.Output[str]
    """= the resource id (Skyflow's clientID)."""
    client_name: pulumi.Output[str]
    token_uri: pulumi.Output[str]
    namespace: pulumi.Output[str]
    key_id: pulumi.Output[str | None]
    private_key: pulumi.Output[str | None]
    """Secret. JWT accounts only."""
    credentials: pulumi.Output[str | None]
    """Secret. credentials.json text (JWT accounts only)."""
    api_key_id: pulumi.Output[str | None]
    api_key: pulumi.Output[str | None]
    """Secret. API-key accounts only."""
    adopt_id: pulumi.Output[str | None]
    exclusive_keys: pulumi.Output[bool | None]
    rotation_trigger: pulumi.Output[Any]
    rotate_after_days: pulumi.Output[float | None]
    overlap_hours: pulumi.Output[float | None]
    valid_after: pulumi.Output[str | None]
    valid_before: pulumi.Output[str | None]
    """When the current JWT key expires (Skyflow: one year after creation)."""
    key_created_at: pulumi.Output[str | None]
    next_rotation_at: pulumi.Output[str | None]
    rotated_at: pulumi.Output[str | None]
    previous_key_id: pulumi.Output[str | None]
    """The key replaced by the last rotation, valid until ``previous_key_delete_after``."""
    previous_private_key: pulumi.Output[str | None]
    """Secret."""
    previous_credentials: pulumi.Output[str | None]
    """Secret. credentials.json of the previous key (JWT accounts)."""
    previous_api_key: pulumi.Output[str | None]
    """Secret. The previous API key (API-key accounts)."""
    previous_key_delete_after: pulumi.Output[str | None]
    unmanaged_key_ids: pulumi.Output[list[str] | None]
    """Keys on the account that this resource does not hold (refreshed by ``pulumi refresh``)."""

    def __init__(
        self,
        resource_name: str,
        args: ServiceAccountArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props = merge_args(args, kwargs, ServiceAccountArgs, fill=INPUT_KEYS + OUTPUT_KEYS)
        super().__init__(ServiceAccountProvider(), resource_name, props,
                         with_secret_outputs(opts, SECRET_OUTPUTS))


__all__ = ["IpAllowlistArgs", "ServiceAccount", "ServiceAccountArgs", "ServiceAccountProvider",
           "credentials_json"]
