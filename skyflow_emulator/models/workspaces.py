"""Workspaces: where vaults live. The seeded account has one; more can be created.

A workspace's ``url`` is where its vaults' Data API is served. The emulator serves the Data API
at its own base URL, so every workspace's ``url`` is that (filled in by the view, since the
port can change between starts).
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import bad_request, conflict, failed_precondition
from ..state import State
from ..store import Tx
from ..util import audit, check_id, new_id, opt_obj, opt_str, touch
from .common import load

NAME_RE = re.compile(r"^[A-Za-z0-9]+$")
TYPES = {"NONE_TYPE", "SANDBOX", "PRODUCTION"}
STATUSES = {"NONE", "CREATED", "PENDING", "ACTIVE", "INACTIVE", "ARCHIVED", "DELETED"}
#: the one region the emulator offers (``regionID`` of every workspace)
REGION = "emulator"
DEFAULT_LIMITS = {"vaultCountLimit": "100", "vaultSizeLimit": "1000000",
                  "vaultOwnerLimit": "10", "permissionRestrictions": [],
                  "enableExternalSharing": False}
SEEDED_NAME = "EmulatorWorkspace"


def new_workspace(account_id: str, actor: str, name: str, *, display: str | None = None,
                  description: str = "", wtype: str = "SANDBOX") -> dict[str, Any]:
    ws_id = new_id()
    return {"ID": ws_id, "accountID": account_id, "name": name,
            "displayName": display if display is not None else name,
            "description": description,
            "namespace": f"skyflow:emulator/account:{account_id}/workspace:{ws_id}",
            "status": "ACTIVE", "BasicAudit": audit(actor), "type": wtype,
            "limits": dict(DEFAULT_LIMITS), "regionID": REGION}


def put_workspace(tx: Tx, ws: dict[str, Any]) -> None:
    tx.put("workspace", ws["ID"], ws, account_id=ws["accountID"], parent=ws["accountID"],
           name=ws["name"])


def ensure_seeded(tx: Tx, account_id: str) -> str:
    """The seeded workspace's id; created (and the account's vaults moved into it) when a data
    dir from before workspaces existed is opened."""
    found = tx.find("workspace", account_id=account_id)
    if found:
        ws_id = str(found[0]["ID"])
    else:
        ws = new_workspace(account_id, "SYSTEM", SEEDED_NAME, display="Emulator workspace",
                           description="The emulator account's workspace")
        put_workspace(tx, ws)
        ws_id = ws["ID"]
    for vault in tx.find("vault", account_id=account_id):
        if not vault.get("workspaceID"):
            vault["workspaceID"] = ws_id
            tx.put("vault", vault["ID"], vault, account_id=account_id, parent=account_id,
                   name=vault["name"], lookup=ws_id)
    return ws_id


def _name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not NAME_RE.match(value) or len(value) > 128:
        raise bad_request(f"{field}: required, letters and digits only (^[A-Za-z0-9]+$)")
    return value


class Workspaces:
    """The workspace backend of one emulator account."""

    def __init__(self, state: State) -> None:
        self.store = state.store
        self.account_id = state.account_id

    def get(self, ws_id: str) -> dict[str, Any]:
        with self.store.read() as tx:
            return load(tx, "workspace", ws_id, "workspace", self.account_id)

    def list_(self, *, account: str | None, name: str | None,
             status: str | None) -> list[dict[str, Any]]:
        if account not in (None, "", self.account_id):
            raise bad_request("accountID: does not match X-Skyflow-Account-ID")
        if status not in (None, "", "NONE") and status not in STATUSES:
            raise bad_request(f"status: must be one of {sorted(STATUSES)}")
        with self.store.read() as tx:
            items = tx.find("workspace", account_id=self.account_id, name=name or None)
        if status not in (None, "", "NONE"):
            items = [w for w in items if w["status"] == status]
        return items

    def create(self, *, actor: str, body: dict[str, Any]) -> str:
        if body.get("accountID") not in (None, "", self.account_id):
            raise bad_request("accountID: does not match X-Skyflow-Account-ID")
        if body.get("regionID") != REGION:
            raise bad_request(f"regionID: required; the emulator has one region, {REGION!r}")
        spec = opt_obj(body, "workspace", "workspace")
        if spec is None:
            raise bad_request("workspace: required")
        name = _name(spec.get("name"), "workspace.name")
        wtype = spec.get("type") or "SANDBOX"
        if wtype not in TYPES:
            raise bad_request(f"workspace.type: must be one of {sorted(TYPES)}")
        ws = new_workspace(self.account_id, actor, name,
                           display=opt_str(spec, "displayName", "workspace.displayName", 256),
                           description=opt_str(spec, "description", "workspace.description",
                                               1024) or "", wtype=wtype)
        with self.store.write() as tx:
            if tx.find("workspace", account_id=self.account_id, name=name):
                raise conflict(f"Conflict: a workspace named {name} already exists")
            put_workspace(tx, ws)
        return str(ws["ID"])

    def update(self, ws_id: str, *, actor: str, spec: Any) -> str:
        if not isinstance(spec, dict):
            raise bad_request("workspace: required")
        with self.store.write() as tx:
            ws = load(tx, "workspace", ws_id, "workspace", self.account_id)
            if spec.get("name") is not None and spec["name"] != ws["name"]:
                name = _name(spec["name"], "workspace.name")
                if tx.find("workspace", account_id=self.account_id, name=name):
                    raise conflict(f"Conflict: a workspace named {name} already exists")
                ws["name"] = name
            for key, limit in (("displayName", 256), ("description", 1024)):
                value = opt_str(spec, key, f"workspace.{key}", limit)
                if value is not None:
                    ws[key] = value
            ws["BasicAudit"] = touch(ws["BasicAudit"], actor)
            put_workspace(tx, ws)
        return str(ws["ID"])

    def delete(self, ws_id: str) -> str:
        with self.store.write() as tx:
            ws = load(tx, "workspace", check_id(ws_id, "ID"), "workspace", self.account_id)
            if tx.find("vault", lookup=ws["ID"]):
                raise failed_precondition(f"workspace {ws['ID']} still holds vaults; delete "
                                          "them first")
            tx.delete("workspace", ws["ID"])
        return str(ws["ID"])

    def members(self, ws_id: str, *, member_type: str | None, name: str | None,
                email: str | None, status: str | None) -> list[dict[str, Any]]:
        """``v1Member`` entries: the account's service accounts and users."""
        if member_type not in (None, "", "NONE", "USER", "SERVICE_ACCOUNT", "GROUP",
                               "SQL_SERVICE_ACCOUNT"):
            raise bad_request("filterOps.type: invalid member type")
        out: list[dict[str, Any]] = []
        with self.store.read() as tx:
            load(tx, "workspace", ws_id, "workspace", self.account_id)
            if member_type in (None, "", "NONE", "SERVICE_ACCOUNT") and not email:
                out += [{"ID": s["ID"], "type": "SERVICE_ACCOUNT", "name": s["name"],
                         "status": s["status"]}
                        for s in tx.find("sa", account_id=self.account_id)]
            if member_type in (None, "", "NONE", "USER"):
                out += [{"ID": u["ID"], "type": "USER", "name": u["name"],
                         "email": u["userIdentity"]["email"], "status": u["status"]}
                        for u in tx.find("user", account_id=self.account_id,
                                         lookup=email.lower() if email else None)]
        return [m for m in out if (not name or m["name"] == name)
                and (status in (None, "", "NONE") or m["status"] == status)]
