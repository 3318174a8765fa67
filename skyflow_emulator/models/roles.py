"""Roles: system roles per vault and account, custom roles, member assignments."""

from __future__ import annotations

import re
from typing import Any

from ..cel import CelError, compile_condition
from ..errors import bad_request, conflict, failed_precondition
from ..permissions import SYSTEM_ACCOUNT_ROLES, SYSTEM_VAULT_ROLES
from ..state import State
from ..store import Tx
from ..util import audit, check_id, new_id, opt_str, touch
from .common import load, resource_doc
from .grants import member_permissions

PERMISSION_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.([A-Za-z0-9_]+|\*))+(:[A-Za-z0-9_]+)?$|^\*$")
MEMBER_TYPES = {"SERVICE_ACCOUNT", "USER"}
MAX_CONDITION = 4096


def _definition(value: Any, base: dict[str, Any] | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request("roleDefinition: required")
    out = dict(base or {"displayName": "", "description": "", "permissions": [], "levels": []})
    name = opt_str(value, "name", "roleDefinition.name", 128)
    if name is not None:
        if not name.strip():
            raise bad_request("roleDefinition.name: must not be empty")
        out["name"] = name
    if "name" not in out:
        raise bad_request("roleDefinition.name: required")
    for key, limit in (("displayName", 256), ("description", 1024)):
        v = opt_str(value, key, f"roleDefinition.{key}", limit)
        if v is not None:
            out[key] = v
    for key in ("permissions", "levels"):
        if value.get(key) is not None:
            items = value[key]
            if not isinstance(items, list) or not all(isinstance(p, str) for p in items):
                raise bad_request(f"roleDefinition.{key}: must be a list of strings")
            if key == "permissions":
                for i, p in enumerate(items):
                    if not PERMISSION_RE.match(p):
                        raise bad_request(f"roleDefinition.permissions[{i}]: not a permission "
                                          "of the form <object>.<verb>")
            out[key] = list(dict.fromkeys(items))
    if value.get("type") not in (None, "", "NONE", "CUSTOM"):
        raise bad_request("roleDefinition.type: only CUSTOM roles can be created or changed")
    out["type"] = "CUSTOM"
    return out


def system_definitions(resource_type: str) -> list[dict[str, Any]]:
    """The system roles' definitions, optionally of one level (VAULT or ACCOUNT)."""
    if resource_type not in ("", "VAULT", "ACCOUNT"):
        raise bad_request("resourceType: the emulator knows VAULT and ACCOUNT role definitions")
    out = []
    for level, table in (("VAULT", SYSTEM_VAULT_ROLES), ("ACCOUNT", SYSTEM_ACCOUNT_ROLES)):
        if resource_type and resource_type != level:
            continue
        for name, (display, description, perms) in table.items():
            out.append({"name": name, "displayName": display, "description": description,
                        "permissions": perms, "levels": [level], "type": "SYSTEM"})
    return out


def check_condition(condition: Any) -> None:
    if condition is not None and (not isinstance(condition, str)
                                  or len(condition) > MAX_CONDITION):
        raise bad_request("condition: must be a CEL expression string")
    if condition:
        try:
            compile_condition(condition)
        except CelError as exc:
            raise bad_request(f"condition: invalid CEL expression ({exc}); the variables are "
                              "request.time (timestamp), request.context (the token's ctx) "
                              "and request.originIP (string)") from None


def _member_doc(tx: Tx, member_id: str, member_type: str, account_id: str) -> dict[str, Any]:
    """The service account or user a member entry names (404 naming it when absent)."""
    if member_type == "USER":
        return load(tx, "user", member_id, "user", account_id)
    return load(tx, "sa", member_id, "service account", account_id)


class Roles:
    """The role backend of one emulator account."""

    def __init__(self, state: State) -> None:
        self.store = state.store
        self.account_id = state.account_id

    def resource(self, rtype: Any, rid: Any, field: str = "resource") -> dict[str, Any]:
        with self.store.read() as tx:
            return resource_doc(tx, self.account_id, rtype, rid, field)

    def get(self, role_id: str) -> dict[str, Any]:
        with self.store.read() as tx:
            return load(tx, "role", role_id, "role", self.account_id)

    def list_(self, resource_id: str, *, role_type: str | None,
             name: str | None) -> list[dict[str, Any]]:
        if role_type and role_type not in ("NONE", "SYSTEM", "CUSTOM"):
            raise bad_request("type: must be SYSTEM or CUSTOM")
        with self.store.read() as tx:
            roles = tx.find("role", parent=resource_id, name=name or None)
        if role_type and role_type != "NONE":
            roles = [r for r in roles if r["definition"]["type"] == role_type]
        return roles

    def create(self, *, actor: str, definition: Any, resource: Any) -> str:
        spec = _definition(definition, None)
        res_in = resource or {}
        with self.store.write() as tx:
            res = resource_doc(tx, self.account_id, res_in.get("type"), res_in.get("ID"),
                               "resource")
            if tx.find("role", parent=res["ID"], name=spec["name"]):
                raise conflict(f"Conflict: a role named {spec['name']} already exists on "
                               "this resource")
            role_id = new_id()
            role = {"ID": role_id, "accountID": self.account_id,
                    "namespace": f"skyflow:emulator/account:{self.account_id}/role:{role_id}",
                    "definition": spec, "resource": res, "BasicAudit": audit(actor)}
            tx.put("role", role_id, role, account_id=self.account_id, parent=res["ID"],
                   name=spec["name"])
        return role_id

    def _custom(self, tx: Tx, role_id: str) -> dict[str, Any]:
        role = load(tx, "role", role_id, "role", self.account_id)
        if role["definition"]["type"] == "SYSTEM":
            raise failed_precondition(f"Role {role['ID']} is a system role; system roles "
                                      "cannot be updated or deleted")
        return role

    def update(self, role_id: str, *, actor: str, body_id: Any, definition: Any) -> str:
        if body_id not in (None, "", role_id):
            raise bad_request("ID: does not match the path")
        with self.store.write() as tx:
            role = self._custom(tx, role_id)
            spec = _definition(definition, role["definition"])
            if spec["name"] != role["definition"]["name"]:
                if tx.find("role", parent=role["resource"]["ID"], name=spec["name"]):
                    raise conflict(f"Conflict: a role named {spec['name']} already exists "
                                   "on this resource")
            role["definition"] = spec
            role["BasicAudit"] = touch(role["BasicAudit"], actor)
            tx.put("role", role["ID"], role, account_id=self.account_id,
                   parent=role["resource"]["ID"], name=spec["name"])
        return str(role["ID"])

    def delete(self, role_id: str) -> str:
        with self.store.write() as tx:
            role = self._custom(tx, role_id)
            tx.drop_role_members(role["ID"])
            tx.drop_policy_links(role_id=role["ID"])
            tx.delete("role", role["ID"])
        return str(role["ID"])

    def _members(self, tx: Tx, value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list) or not value:
            raise bad_request("members: a non-empty list is required")
        out = []
        for i, m in enumerate(value):
            if not isinstance(m, dict):
                raise bad_request(f"members[{i}]: must be an object")
            mtype = m.get("type")
            if mtype not in MEMBER_TYPES:
                raise bad_request(f"members[{i}].type: must be SERVICE_ACCOUNT or USER")
            mid = check_id(m.get("ID"), f"members[{i}].ID")
            _member_doc(tx, mid, mtype, self.account_id)
            out.append({"ID": mid, "type": mtype})
        return out

    def assign(self, role_id: Any, members: Any, condition: Any) -> str:
        """Idempotent: assigning again only replaces the condition."""
        check_condition(condition)
        with self.store.write() as tx:
            role = load(tx, "role", check_id(role_id, "ID"), "role", self.account_id)
            for m in self._members(tx, members):
                tx.add_member(role["ID"], m["ID"], m["type"], condition or None)
        return str(role["ID"])

    def unassign(self, role_id: Any, members: Any) -> str:
        with self.store.write() as tx:
            role = load(tx, "role", check_id(role_id, "ID"), "role", self.account_id)
            if not isinstance(members, list) or not members:
                raise bad_request("members: a non-empty list is required")
            for i, m in enumerate(members):
                if not isinstance(m, dict) or m.get("type") not in MEMBER_TYPES:
                    raise bad_request(f"members[{i}].type: must be SERVICE_ACCOUNT or USER")
                tx.remove_member(role["ID"], check_id(m.get("ID"), f"members[{i}].ID"),
                                 m["type"])
        return str(role["ID"])

    def members(self, role_id: str, *, member_type: str | None,
                name: str | None) -> list[tuple[dict[str, Any], str | None]]:
        """(member, condition) pairs: service accounts and users."""
        out = []
        with self.store.read() as tx:
            role = load(tx, "role", role_id, "role", self.account_id)
            for mid, mtype, condition in tx.members_of(role["ID"]):
                if member_type and member_type != mtype:
                    continue
                doc = tx.get("sa" if mtype == "SERVICE_ACCOUNT" else "user", mid)
                if doc is None:
                    continue
                if name and name != doc["name"]:
                    continue
                member = {"ID": mid, "type": mtype, "name": doc["name"],
                          "status": doc["status"]}
                if mtype == "USER":
                    member["email"] = doc["userIdentity"]["email"]
                out.append((member, condition))
        return out

    def _member(self, tx: Tx, member_id: str, member_type: str | None) -> dict[str, Any]:
        if not member_type:
            raise bad_request("member.type: required")
        if member_type not in MEMBER_TYPES:
            raise bad_request("member.type: must be SERVICE_ACCOUNT or USER")
        return _member_doc(tx, check_id(member_id, "member.ID"), member_type, self.account_id)

    def roles_of_member(self, member_id: str, member_type: str | None, *,
                        resource_id: str | None, resource_type: str | None,
                        role_type: str | None, name: str | None) -> list[dict[str, Any]]:
        out = []
        with self.store.read() as tx:
            member = self._member(tx, member_id, member_type)
            for rid, _condition in tx.roles_of(member["ID"], str(member_type)):
                role = tx.get("role", rid)
                if role is None:
                    continue
                res = role["resource"]
                if (resource_id and resource_id != res["ID"]) or \
                        (resource_type and resource_type != res["type"]):
                    continue
                if role_type and role_type not in ("NONE", role["definition"]["type"]):
                    continue
                if name and name != role["definition"]["name"]:
                    continue
                out.append(role)
        return out

    def permissions_of_member(self, member_id: str, member_type: str | None) -> list[str]:
        with self.store.read() as tx:
            member = self._member(tx, member_id, member_type)
            return member_permissions(tx, member["ID"], str(member_type))
