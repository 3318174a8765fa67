"""Service accounts, their JWT key pairs and their API keys: rules and storage."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from ..auth import api_key_hash, new_api_key
from ..bootstrap import new_jwt_key
from ..errors import bad_request, failed_precondition, not_found
from ..state import State
from ..store import Tx
from ..util import audit, check_id, new_id, now, opt_str, rfc3339, touch
from ..views import sa_namespace
from .common import load

RESOURCE_TYPES = {"NONE", "ORGANIZATION", "VAULT", "ACCOUNT", "SERVICE_ACCOUNT",
                  "VAULT_TEMPLATE", "WORKSPACE", "FIELD_TEMPLATE", "RECORD", "TOKEN",
                  "CONNECTION", "ENCRYPTION_KEY", "NETWORK_TOKEN", "SUBSCRIPTION",
                  "PAYMENT_CONFIG"}
ALLOWLIST_STATUS = {"INACTIVE", "ACTIVE_ALL", "ACTIVE_AUTH_ONLY"}
SA_STATUS = {"NONE", "CREATED", "PENDING", "ACTIVE", "INACTIVE", "ARCHIVED", "DELETED"}
KEY_TYPES = ("USER_MANAGED", "SYSTEM_MANAGED", "KEY_TYPE_UNSPECIFIED")


@dataclass
class Issued:
    """A service account with a freshly issued secret: a private PEM or an API key."""

    sa: dict[str, Any]
    key: dict[str, Any]
    secret: str
    api_key: bool


def _ip_allowlist(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request(f"{field}: must be an object")
    extra = set(value) - {"status", "cidrBlocks"}
    if extra:
        raise bad_request(f"{field}.{sorted(extra)[0]}: unknown field")
    status = value.get("status", "INACTIVE")
    if status not in ALLOWLIST_STATUS:
        raise bad_request(f"{field}.status: must be one of {sorted(ALLOWLIST_STATUS)}")
    blocks = value.get("cidrBlocks", [])
    if not isinstance(blocks, list) or len(blocks) > 10:
        raise bad_request(f"{field}.cidrBlocks: must be a list of at most 10 CIDR blocks")
    for i, block in enumerate(blocks):
        try:
            ipaddress.ip_network(block, strict=False)
        except (ValueError, TypeError):
            raise bad_request(f"{field}.cidrBlocks[{i}]: not a CIDR block") from None
    return {"status": status, "cidrBlocks": list(blocks)}


def _client_config(value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request("clientConfiguration: must be an object")
    out = dict(base or {"enforceContextID": False, "enforceSignedDataTokens": False})
    for key, v in value.items():
        if key not in ("enforceContextID", "enforceSignedDataTokens"):
            raise bad_request(f"clientConfiguration.{key}: unknown field")
        if not isinstance(v, bool):
            raise bad_request(f"clientConfiguration.{key}: must be a boolean")
        out[key] = v
    return out


def _new_api_key_doc(sa_id: str, key_id: str | None = None) -> tuple[dict[str, Any], str]:
    secret = new_api_key()
    doc = {"keyID": key_id or new_id(), "saID": sa_id, "identifier": secret[:9],
           "status": "ACTIVE", "keyValidAfterTime": rfc3339(now()),
           "_hash": api_key_hash(secret)}
    return doc, secret


class ServiceAccounts:
    """The service-account backend of one emulator account."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.store = state.store
        self.account_id = state.account_id

    def _load(self, tx: Tx, sa_id: str) -> dict[str, Any]:
        return load(tx, "sa", sa_id, "service account", self.account_id)

    def _validate_resource(self, value: Any) -> None:
        """The deprecated ``resource`` wrapper: accepted, checked, otherwise ignored."""
        if not isinstance(value, dict):
            raise bad_request("resource: must be an object")
        rtype = value.get("type", "ACCOUNT")
        if rtype not in RESOURCE_TYPES:
            raise bad_request("resource.type: invalid value")
        rid = value.get("ID")
        if rid in (None, ""):
            return
        check_id(rid, "resource.ID")
        with self.store.read() as tx:
            if rtype == "VAULT":
                load(tx, "vault", rid, "vault", self.account_id)
            elif rtype == "ACCOUNT" and rid != self.account_id:
                raise not_found(f"account {rid} not found")

    # ---- service accounts ------------------------------------------------------------------

    def create(self, *, actor: str, account: Any, spec: Any, client_config: Any,
               api_key_enabled: Any, resource: Any) -> Issued:
        if account not in (None, "") and account != self.account_id:
            raise bad_request("accountID: does not match X-Skyflow-Account-ID")
        if spec is not None and not isinstance(spec, dict):
            raise bad_request("serviceAccount: must be an object")
        if spec is None:
            raise bad_request("serviceAccount: required")
        name = opt_str(spec, "name", "serviceAccount.name", 256)
        if not name or not name.strip():
            raise bad_request("serviceAccount.name: required")
        display = opt_str(spec, "displayName", "serviceAccount.displayName", 256)
        description = opt_str(spec, "description", "serviceAccount.description", 1024)
        allowlist = {"status": "INACTIVE", "cidrBlocks": []}
        if spec.get("ipAllowlist") is not None:
            allowlist = _ip_allowlist(spec["ipAllowlist"], "serviceAccount.ipAllowlist")
        config = _client_config(client_config or {})
        if not isinstance(api_key_enabled, bool):
            raise bad_request("apiKeyEnabled: must be a boolean")
        if resource is not None:
            self._validate_resource(resource)
        sa_id = new_id()
        sa = {
            "ID": sa_id, "accountID": self.account_id, "name": name,
            "displayName": display if display is not None else name,
            "description": description or "", "ipAllowlist": allowlist,
            "namespace": sa_namespace(self.account_id, sa_id), "status": "ACTIVE",
            "BasicAudit": audit(actor), "clientConfiguration": config,
            "apiKeyEnabled": api_key_enabled,
        }
        if api_key_enabled:
            key, secret = _new_api_key_doc(sa_id)
            with self.store.write() as tx:
                tx.put("sa", sa_id, sa, account_id=self.account_id, name=name)
                tx.put("apikey", key["keyID"], key, account_id=self.account_id, parent=sa_id,
                       lookup=key.pop("_hash"))
            return Issued(sa, key, secret, api_key=True)
        # RSA generation is slow: take a pair from the stock (or generate one) before the
        # write lock.
        jwt_key, private_pem = new_jwt_key(sa_id, self.state.keys.take())
        with self.store.write() as tx:
            tx.put("sa", sa_id, sa, account_id=self.account_id, name=name)
            tx.put("sakey", jwt_key["keyID"], jwt_key, account_id=self.account_id,
                   parent=sa_id)
        return Issued(sa, jwt_key, private_pem, api_key=False)

    def get(self, sa_id: str) -> dict[str, Any]:
        with self.store.read() as tx:
            return self._load(tx, sa_id)

    def list_(self, *, account: str | None, status: str | None,
             name: str | None) -> list[dict[str, Any]]:
        if account and account != self.account_id:
            raise bad_request("accountID: does not match X-Skyflow-Account-ID")
        if status and status not in SA_STATUS:
            raise bad_request("status: invalid value")
        with self.store.read() as tx:
            items = tx.find("sa", account_id=self.account_id, name=name or None)
        if status:
            items = [s for s in items if s.get("status") == status]
        return items

    def update(self, sa_id: str, *, actor: str, spec: dict[str, Any],
               client_config: Any) -> dict[str, Any]:
        with self.store.write() as tx:
            sa = self._load(tx, sa_id)
            name = opt_str(spec, "name", "serviceAccount.name", 256)
            if name is not None and name != sa["name"]:
                raise bad_request("serviceAccount.name: cannot be changed")
            for key, limit in (("displayName", 256), ("description", 1024)):
                value = opt_str(spec, key, f"serviceAccount.{key}", limit)
                if value is not None:
                    sa[key] = value
            if spec.get("ipAllowlist") is not None:
                sa["ipAllowlist"] = _ip_allowlist(spec["ipAllowlist"],
                                                  "serviceAccount.ipAllowlist")
            if client_config is not None:
                sa["clientConfiguration"] = _client_config(client_config,
                                                           sa.get("clientConfiguration"))
            sa["BasicAudit"] = touch(sa["BasicAudit"], actor)
            tx.put("sa", sa["ID"], sa, account_id=self.account_id, name=sa["name"])
        return sa

    def delete(self, sa_id: str) -> dict[str, Any]:
        """Deleting an account revokes its keys, API keys, role memberships and tokens."""
        with self.store.write() as tx:
            sa = self._load(tx, sa_id)
            if sa["ID"] == self.state.admin_sa_id:
                raise failed_precondition("The emulator's bootstrap admin service account "
                                          "cannot be deleted")
            for kind in ("sakey", "apikey"):
                for doc in tx.find(kind, parent=sa["ID"]):
                    tx.delete(kind, doc["keyID"])
            tx.drop_member_everywhere(sa["ID"], "SERVICE_ACCOUNT")
            tx.delete("sa", sa["ID"])
        return sa

    # ---- JWT key pairs ---------------------------------------------------------------------

    def _jwt_sa(self, tx: Tx, sa_id: str) -> dict[str, Any]:
        sa = self._load(tx, sa_id)
        if sa.get("apiKeyEnabled"):
            raise failed_precondition("Service account is configured for API keys; it cannot "
                                      "have JWT key pairs")
        return sa

    @staticmethod
    def _key(tx: Tx, sa: dict[str, Any], kind: str, key_id: str) -> dict[str, Any]:
        check_id(key_id, "keyID")
        key = tx.get(kind, key_id)
        if key is None or key.get("saID") != sa["ID"]:
            raise not_found(f"key {key_id} not found")
        return key

    def create_key(self, sa_id: str) -> Issued:
        key, private_pem = new_jwt_key(sa_id, self.state.keys.take())  # before the write lock
        with self.store.write() as tx:
            sa = self._jwt_sa(tx, sa_id)
            tx.put("sakey", key["keyID"], key, account_id=self.account_id, parent=sa["ID"])
        return Issued(sa, key, private_pem, api_key=False)

    def list_keys(self, sa_id: str, key_types: list[str]) -> list[dict[str, Any]]:
        for kt in key_types:
            if kt not in KEY_TYPES:
                raise bad_request("keyTypes: invalid value")
        with self.store.read() as tx:
            sa = self._load(tx, sa_id)
            return tx.find("sakey", parent=sa["ID"])

    def get_key(self, sa_id: str, key_id: str) -> dict[str, Any]:
        with self.store.read() as tx:
            return self._key(tx, self._load(tx, sa_id), "sakey", key_id)

    def rotate_key(self, sa_id: str, key_id: str) -> Issued:
        """Replaces the key by a new one (new keyID); the old key's assertions stop working."""
        key, private_pem = new_jwt_key(sa_id, self.state.keys.take())  # before the write lock
        with self.store.write() as tx:
            sa = self._jwt_sa(tx, sa_id)
            old = self._key(tx, sa, "sakey", key_id)
            tx.delete("sakey", old["keyID"])
            tx.put("sakey", key["keyID"], key, account_id=self.account_id, parent=sa["ID"])
        return Issued(sa, key, private_pem, api_key=False)

    def delete_key(self, sa_id: str, key_id: str, kind: str = "sakey") -> dict[str, Any]:
        with self.store.write() as tx:
            key = self._key(tx, self._load(tx, sa_id), kind, key_id)
            tx.delete(kind, key["keyID"])
        return key

    # ---- API keys --------------------------------------------------------------------------

    def _api_sa(self, tx: Tx, sa_id: str) -> dict[str, Any]:
        sa = self._load(tx, sa_id)
        if not sa.get("apiKeyEnabled"):
            raise failed_precondition("Service account is configured for bearer tokens; it "
                                      "cannot have API keys (create it with apiKeyEnabled: "
                                      "true)")
        return sa

    def create_api_key(self, sa_id: str) -> Issued:
        with self.store.write() as tx:
            sa = self._api_sa(tx, sa_id)
            key, secret = _new_api_key_doc(sa["ID"])
            tx.put("apikey", key["keyID"], key, account_id=self.account_id, parent=sa["ID"],
                   lookup=key.pop("_hash"))
        return Issued(sa, key, secret, api_key=True)

    def list_api_keys(self, sa_id: str) -> list[dict[str, Any]]:
        with self.store.read() as tx:
            return tx.find("apikey", parent=self._load(tx, sa_id)["ID"])

    def get_api_key(self, sa_id: str, key_id: str) -> dict[str, Any]:
        with self.store.read() as tx:
            return self._key(tx, self._load(tx, sa_id), "apikey", key_id)

    def rotate_api_key(self, sa_id: str, key_id: str) -> Issued:
        """Same keyID, new secret; the old secret is refused from now on."""
        with self.store.write() as tx:
            sa = self._api_sa(tx, sa_id)
            old = self._key(tx, sa, "apikey", key_id)
            key, secret = _new_api_key_doc(sa["ID"], old["keyID"])
            key["status"] = old["status"]
            tx.put("apikey", key["keyID"], key, account_id=self.account_id, parent=sa["ID"],
                   lookup=key.pop("_hash"))
        return Issued(sa, key, secret, api_key=True)

    def set_api_key_status(self, sa_id: str, key_id: str, status: Any) -> dict[str, Any]:
        """EMULATOR EXTENSION (not in the spec): enable or disable an API key."""
        if status not in ("ACTIVE", "INACTIVE"):
            raise bad_request("status: must be ACTIVE or INACTIVE")
        with self.store.write() as tx:
            sa = self._load(tx, sa_id)
            key = self._key(tx, sa, "apikey", key_id)
            lookup = tx.lookup_of("apikey", key["keyID"])
            key["status"] = status
            tx.put("apikey", key["keyID"], key, account_id=self.account_id, parent=sa["ID"],
                   lookup=lookup)
        return key
