"""``ServiceAccount``: a Skyflow service account (JWT key pair or API key) as a Pulumi resource.

Why the shape: Skyflow returns the private key / API key only in the create response, so the
provider captures it once, stores it as an encrypted secret output and carries it over on every
update and refresh. Settings that Skyflow can PATCH update in place; ``name`` and ``auth_type``
cannot change, so they replace. What is done with the account's keys (minting, the drift report,
``exclusive_keys``) is in ``account_keys.py``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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
from ..api.idempotency import Named
from . import checks as v
from . import rotation
from .account_keys import AccountKeys, key_field, slots_for
from .args import IpAllowlistArgs, ServiceAccountArgs
from .base import SkyflowProvider, SkyflowProviderError, carry, declare
from .declarations import SERVICE_ACCOUNT
from .field_groups import AUTH_TYPE, IP_ALLOWLIST_STATUS
from .keys import credentials_json
from .outputs import ServiceAccountOutputs
from .recovered import NamedRecovery

AUTH_TYPES = AUTH_TYPE.values
ALLOWLIST_STATUSES = IP_ALLOWLIST_STATUS.values
#: what a PATCH of the account sends (the rest cannot change in place)
SETTINGS_KEYS = (
    "display_name",
    "description",
    "enforce_context_id",
    "enforce_signed_data_tokens",
    "ip_allowlist",
)
#: outputs a later update never loses (Skyflow returns them only once)
GENERATED_KEYS = ("client_id", "token_uri", "key_id", "private_key", "credentials", "api_key_id",
                  "api_key")


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


def _keyless_failures(news: Mapping[str, Any]) -> list[CheckFailure]:
    """What a keyless account cannot have: an API key, a key to rotate, signed data tokens."""
    f = []
    if news.get("auth_type") == "api_key":
        f.append(CheckFailure("keyless", "keyless accounts are jwt accounts reached through "
                              "Skyflow's STS; set auth_type 'jwt' (or drop keyless)"))
    for key in ("rotation_trigger", "rotate_after_days", "overlap_hours"):
        if news.get(key) is not None:
            f.append(CheckFailure(key, f"{key} rotates a key, and a keyless account has none; "
                                  "remove it"))
    if news.get("enforce_signed_data_tokens") is True:
        f.append(CheckFailure("enforce_signed_data_tokens", "enforce_signed_data_tokens needs "
                              "the account's private key, which a keyless account does not "
                              "have; set it to false"))
    return f


class ServiceAccountProvider(NamedRecovery, AccountKeys):
    """CRUD for /v1/serviceAccounts."""

    spec = SERVICE_ACCOUNT
    recovery_kind, recovery_what = "ServiceAccount", "service account"

    def recovery_listing(self, client: Any, props: Mapping[str, Any]) -> Named:
        return idempotency.sa_listing(client, str(props.get("name")))

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """A rename creates the new account first (no credential gap); an auth-type change with
        the same name must delete first, because the name is taken until then. Key rotation,
        a passed overlap window or a key deleted out of band update in place."""
        if news.get("keyless") is True and olds.get("keyless") is True:
            # no key: nothing to rotate (the rotation plan would mint one)
            result = SkyflowProvider.diff(self, id_, olds, news)
            result.changes = bool(result.changes) or self.extra_changes(olds, news)
        else:
            result = super().diff(id_, olds, news)
        replaces = result.replaces or []
        result.delete_before_replace = "auth_type" in replaces and "name" not in replaces
        return result

    def validate(self, news: dict[str, Any]) -> list[CheckFailure]:
        f = v.check_unknown_keys(news, self.input_keys)
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
        f += v.check_bool("keyless", news.get("keyless"))
        if news.get("keyless") is True:
            f += _keyless_failures(news)
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
        return {k: props.get(k) for k in self.input_keys}

    def _fresh(self, props: Mapping[str, Any], **values: Any) -> dict[str, Any]:
        """Every state key of a just-made (or adopted) account: inputs, the given outputs, the
        rest None."""
        outs = self._inputs(props)
        outs.update({k: None for k in self.output_keys})
        outs.update(values)
        return outs

    # ----- CRUD --------------------------------------------------------------------------------
    def create(self, props: dict[str, Any]) -> CreateResult:
        props = self.apply_defaults(props)
        if props.get("adopt_id"):
            return self._adopt(props)
        what = f"create service account {props['name']!r}"
        orphan = self.leftover(props, what)
        if orphan is not None:  # left by a killed run: take it over, keys replaced
            return self._adopt(props, str(orphan["ID"]), orphan=True)
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
        with self.undo_on_failure(lambda: self.client.delete_service_account(client_id),
                                  client_id):
            if props.get("keyless") is True:
                outs = self._keyless(props, resp, client_id)
            else:
                outs = self._outputs(props, resp, client_id, api_key_mode)
        return CreateResult(client_id, outs)

    def _keyless(self, props: Mapping[str, Any], resp: Mapping[str, Any],
                 client_id: str) -> dict[str, Any]:
        """A keyless account: the key Skyflow made with it is deleted before anything keeps it
        (it never reaches an output or the state)."""
        if resp.get("keyID"):
            self.call(f"delete the key of keyless service account {client_id}",
                      self.client.delete_key, client_id, str(resp["keyID"]), missing_ok=True)
        return self._fresh(props, client_id=client_id,
                           client_name=resp.get("clientName") or props["name"],
                           token_uri=resp.get("tokenURI") or "",
                           namespace=str(resp.get("namespace") or ""), unmanaged_key_ids=[])

    def _adopt(self, props: dict[str, Any], sa_id: str | None = None,
               orphan: bool = False) -> CreateResult:
        """Take over an existing account: declared settings applied, a fresh key minted.

        ``orphan``: an account a killed run created and never recorded; nobody holds its keys,
        so every key but the fresh one is deleted (no live credential outside the state).
        Nothing is deleted if this fails (the account was not ours to begin with).
        """
        sa_id = str(sa_id or props["adopt_id"])
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
        if props.get("keyless") is True:
            outs = self._fresh(props, client_id=sa_id, namespace=remote.get("namespace") or "",
                               client_name=remote.get("name") or props["name"])
            exclusive = orphan or props.get("exclusive_keys") is True
            outs["unmanaged_key_ids"] = (self._delete_unmanaged(sa_id, False, set()) if exclusive
                                         else self._list_key_ids(sa_id, False) or [])
            return CreateResult(sa_id, outs)
        fresh = self._mint(sa_id, api_key_mode)
        outs = self._fresh(props, **fresh, client_id=sa_id,
                           client_name=remote.get("name") or props["name"],
                           namespace=remote.get("namespace") or "")
        if not api_key_mode:
            outs["token_uri"] = json.loads(fresh["credentials"]).get("tokenURI") or ""
        outs["key_created_at"] = rotation.fmt(rotation.later(rotation.now(),
                                                             fresh.get("valid_after")))
        keep = {str(fresh[key_field(outs)])}
        if orphan or props.get("exclusive_keys") is True:
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
        outs = self._fresh(
            props,
            client_id=client_id,
            client_name=resp.get("clientName") or props["name"],
            token_uri=resp.get("tokenURI") or "",
            namespace=str(resp.get("namespace") or ""),
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
        for key in self.output_keys:
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
        # auth_type and keyless cannot be read back from Skyflow: keep what we created (an import
        # has nothing to keep: jwt, not keyless, the declared defaults, so the next up replaces
        # nothing).
        outs["auth_type"] = props.get("auth_type") or ("api_key" if props.get("api_key") else "jwt")
        outs["keyless"] = props.get("keyless") is True
        if getattr(getattr(self.client, "settings", None), "key_drift_report", True):
            self._read_keys(id_, outs)  # one more GET: optional (skyflow:keyDriftReport)
        return ReadResult(id_, outs, self._inputs(outs))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        news = self.apply_defaults(news)
        outs = carry(olds, self.output_keys)
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
        if news.get("keyless") is True:
            if news.get("exclusive_keys") is True and olds.get("unmanaged_key_ids"):
                outs["unmanaged_key_ids"] = self._delete_unmanaged(id_, False, set())
            return UpdateResult(outs)
        at = rotation.now()
        the_plan = rotation.plan(olds, news, key_field(olds), at,
                                 f"service account {id_}: key")
        rotation.apply(outs, news, the_plan, slots_for(api_key_mode),
                       self._ops(id_, api_key_mode), at, "key")
        # exclusive_keys and a new key minted: a rotation killed mid-way may have
        # left the key it minted, valid and held by nobody; delete whatever is not held
        minted = the_plan.rotate or the_plan.recreate
        if news.get("exclusive_keys") is True and (olds.get("unmanaged_key_ids") or minted
                                                   or olds.get("exclusive_keys") is not True):
            keep = {str(k) for k in (outs.get(key_field(outs)), outs.get("previous_key_id"))
                    if k}
            outs["unmanaged_key_ids"] = self._delete_unmanaged(id_, api_key_mode, keep)
        return UpdateResult(outs)

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        if idempotency.adopted_this_run(self.client, id_):
            rotation.warn(f"service account {id_} was taken over by another resource in this "
                          "run (a replace or a move of the same name): not deleted")
            return
        self.call(f"delete service account {id_}", self.client.delete_service_account, id_,
                  missing_ok=True)

class ServiceAccount(ServiceAccountOutputs, Resource, module="skyflow", name="ServiceAccount"):
    """A Skyflow service account. Generated credentials are always secret outputs."""

    def __init__(
        self,
        resource_name: str,
        args: ServiceAccountArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props, opts = declare(SERVICE_ACCOUNT, args, kwargs, ServiceAccountArgs, opts)
        super().__init__(ServiceAccountProvider(), resource_name, props, opts)


__all__ = ["IpAllowlistArgs", "ServiceAccount", "ServiceAccountArgs", "ServiceAccountProvider",
           "credentials_json"]
