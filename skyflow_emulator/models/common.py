"""Lookups shared by the services: an object of this account, or a resource (vault/account)."""

from __future__ import annotations

from typing import Any

from ..errors import bad_request, not_found
from ..store import Tx
from ..util import check_id


def load(tx: Tx, kind: str, obj_id: str, what: str, account_id: str) -> dict[str, Any]:
    """Fetch an object of this account or answer 404 naming it."""
    check_id(obj_id, what)
    doc = tx.get(kind, obj_id)
    if doc is None or doc.get("accountID", account_id) != account_id:
        raise not_found(f"{what} {obj_id} not found")
    return doc


def resource_doc(tx: Tx, account_id: str, rtype: Any, rid: Any, field: str) -> dict[str, Any]:
    """Resolve a (type, ID) pair to a resource of this account: a vault or the account."""
    if rtype == "VAULT":
        vault = load(tx, "vault", check_id(rid, f"{field}.ID"), "vault", account_id)
        return {"ID": vault["ID"], "type": "VAULT", "name": vault["name"],
                "displayName": vault["name"]}
    if rtype == "ACCOUNT":
        check_id(rid, f"{field}.ID")
        if rid != account_id:
            raise not_found(f"account {rid} not found")
        return {"ID": rid, "type": "ACCOUNT", "name": "emulator-account"}
    if rtype in (None, ""):
        raise bad_request(f"{field}.type: required")
    raise bad_request(f"{field}.type: the emulator supports VAULT and ACCOUNT resources")
