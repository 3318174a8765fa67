"""Vaults, their schemas and schema versions, and the built-in vault templates.

A vault's schema is Skyflow's ``vaultSchema``: tables (``schemas[]``, each with ``fields[]``:
``name``, ``datatype``, ``isArray``, ``tags``, ``properties``) and vault-level ``tags``. Every
table has the permanent ``skyflow_id`` column; it is added when the request leaves it out and
cannot be changed. A schema change that would remove a table or column holding records, or
change the data type of a column holding data, is refused (Skyflow: "you can't rename or change
a column's data type if it has data"). Every accepted schema (at creation and at each change)
is kept as a version (``/v1/vaults/{vaultID}/versions``).

A new vault gets its own system roles (the same set as the seeded vault), and its owners (the
request's ``owners``, else the caller) get ``VAULT_OWNER``. Deleting a vault deletes its records,
tokens, versions, roles and policies.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from ..bootstrap import system_role
from ..errors import bad_request, conflict, failed_precondition, not_found
from ..permissions import SYSTEM_VAULT_ROLES
from ..state import State
from ..store import Tx
from ..util import audit, check_id, go_time, new_id, opt_str, touch
from .common import load

# Skyflow's docs: "no capital letters or special characters" in table and column names;
# lowercase letters, digits, '_' and '-'.
COLUMN_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
# Skyflow's docs: vault names have no spaces and no underscores.
VAULT_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
DATATYPES = ("DT_FLOAT32", "DT_FLOAT64", "DT_INT8", "DT_INT16", "DT_INT32", "DT_INT64",
             "DT_UINT8", "DT_UINT16", "DT_UINT32", "DT_UINT64", "DT_BOOL", "DT_STRING",
             "DT_BYTES", "DT_DATETIME", "DT_DATE", "DT_TIME", "DT_EMBEDDED", "DT_REFERENCED")
TABLE_TYPES = {"TT_BASE", "TT_EMBEDDED", "TT_LINKED", "TT_REFERENCED"}
SKYFLOW_ID = "skyflow_id"
VAULT_STATUSES = {"NONE", "CREATED", "PENDING", "ACTIVE", "INACTIVE", "ARCHIVED", "DELETED"}
MAX_TABLES = 100
MAX_FIELDS = 500


def _skyflow_id_field() -> dict[str, Any]:
    return {"name": SKYFLOW_ID, "datatype": "DT_STRING", "isArray": False, "tags": [],
            "properties": {"name": SKYFLOW_ID, "description": "Skyflow's record id"}}


# ----- templates ---------------------------------------------------------------------------------
def _col(name: str, datatype: str = "DT_STRING", *tags: tuple[str, list[str]]
         ) -> dict[str, Any]:
    return {"name": name, "datatype": datatype, "isArray": False,
            "tags": [{"name": t, "values": v} for t, v in tags], "properties": {"name": name}}


MASK = ("skyflow.options.default_dlp_policy", ["MASK"])
REDACT = ("skyflow.options.default_dlp_policy", ["REDACT"])
TOKEN = ("skyflow.options.default_token_policy", ["DETERMINISTIC_UUID"])

#: The built-in templates (a small set named after Skyflow's documented ones), fixed ids.
TEMPLATES: dict[str, dict[str, Any]] = {
    "5b1c3a2e9d7f4e6a8c0b1d2e3f4a5b6c": {
        "name": "quickstart", "displayName": "Quickstart",
        "description": "Two tables, credit_cards and persons",
        "schemas": [
            {"name": "credit_cards", "fields": [
                _col("card_number", "DT_STRING", MASK, TOKEN),
                _col("cardholder_name", "DT_STRING", REDACT),
                _col("expiry_month", "DT_INT32"), _col("expiry_year", "DT_INT32")]},
            {"name": "persons", "fields": [
                _col("name", "DT_STRING", MASK), _col("email", "DT_STRING", MASK, TOKEN),
                _col("ssn", "DT_STRING", REDACT), _col("date_of_birth", "DT_DATE")]},
        ]},
    "7e2d4c6b8a0f1e3d5c7b9a1f2e4d6c8b": {
        "name": "piidata", "displayName": "PIIData",
        "description": "One table of PII fields",
        "schemas": [
            {"name": "pii_fields", "fields": [
                _col("first_name", "DT_STRING", MASK), _col("last_name", "DT_STRING", MASK),
                _col("email", "DT_STRING", MASK, TOKEN), _col("phone_number", "DT_STRING", MASK),
                _col("ssn", "DT_STRING", REDACT)]},
        ]},
}


def template_doc(template_id: str) -> dict[str, Any]:
    """A template as ``v1VaultTemplate``."""
    t = TEMPLATES.get(template_id)
    if t is None:
        raise not_found(f"vault template {template_id} not found")
    schemas = [{**copy.deepcopy(s), "fields": [_skyflow_id_field(), *copy.deepcopy(s["fields"])]}
               for s in t["schemas"]]
    return {"ID": template_id, "name": t["name"], "displayName": t["displayName"],
            "description": t["description"], "status": "ACTIVE",
            "namespace": f"skyflow:emulator/vaultTemplate:{template_id}",
            "BasicAudit": audit("SYSTEM"), "vaultSchema": {"schemas": schemas, "tags": []}}


# ----- schema validation -------------------------------------------------------------------------
def _tags(value: Any, field: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request(f"{field}: must be a list of {{name, values}}")
    out = []
    for i, tag in enumerate(value):
        if not isinstance(tag, dict) or not isinstance(tag.get("name"), str) or not tag["name"]:
            raise bad_request(f"{field}[{i}].name: required")
        values = tag.get("values") or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise bad_request(f"{field}[{i}].values: must be a list of strings")
        out.append({"name": tag["name"], "values": list(values)})
    return out


def _properties(value: Any, field: str, name: str) -> dict[str, Any]:
    if value is None:
        return {"name": name}
    if not isinstance(value, dict):
        raise bad_request(f"{field}: must be an object")
    out = {"name": name}
    for key in ("description", "references"):
        v = opt_str(value, key, f"{field}.{key}", 1024)
        if v is not None:
            out[key] = v
    return out


def _given_id(value: dict[str, Any], field: str) -> str | None:
    """The ``ID`` a request gives a table or field (checked against what the vault holds)."""
    given = value.get("ID")
    return None if given in (None, "") else check_id(given, f"{field}.ID")


def _unique(items: list[dict[str, Any]], field: str, what: str) -> None:
    names = [item["name"] for item in items]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise bad_request(f"{field}: {what} {dupes[0]} is defined twice")


def _named(value: Any, field: str) -> str:
    """The name of a table or field object (Skyflow's rule for both)."""
    if not isinstance(value, dict):
        raise bad_request(f"{field}: must be an object")
    name = value.get("name")
    if not isinstance(name, str) or not COLUMN_RE.match(name):
        raise bad_request(f"{field}.name: lowercase letters, digits, '_' and '-', starting with "
                          "a letter")
    return name


def _field(value: Any, field: str) -> dict[str, Any]:
    name = _named(value, field)
    datatype = value.get("datatype")
    if datatype not in DATATYPES:
        raise bad_request(f"{field}.datatype: must be one of {', '.join(DATATYPES)}")
    is_array = value.get("isArray", False)
    if not isinstance(is_array, bool):
        raise bad_request(f"{field}.isArray: must be a boolean")
    return {"ID": _given_id(value, field), "name": name, "datatype": datatype,
            "isArray": is_array, "tags": _tags(value.get("tags"), f"{field}.tags"),
            "properties": _properties(value.get("properties"), f"{field}.properties", name)}


def _table(value: Any, field: str) -> dict[str, Any]:
    name = _named(value, field)
    fields_in = value.get("fields") or []
    if not isinstance(fields_in, list) or len(fields_in) > MAX_FIELDS:
        raise bad_request(f"{field}.fields: must be a list of at most {MAX_FIELDS} fields")
    fields = [_field(f, f"{field}.fields[{i}]") for i, f in enumerate(fields_in)]
    _unique(fields, f"{field}.fields", "column")
    sid = next((f for f in fields if f["name"] == SKYFLOW_ID), None)
    if sid is None:
        fields.insert(0, _skyflow_id_field())
    elif sid["datatype"] != "DT_STRING" or sid["isArray"]:
        raise bad_request(f"{field}.fields: {SKYFLOW_ID} is Skyflow's permanent record id "
                          "column (DT_STRING) and cannot be changed")
    if len(fields) < 2:
        raise bad_request(f"{field}.fields: a table needs at least one column besides "
                          f"{SKYFLOW_ID}")
    out: dict[str, Any] = {"ID": _given_id(value, field), "name": name, "fields": fields,
                           "schemaTags": _tags(value.get("schemaTags"), f"{field}.schemaTags"),
                           "properties": _properties(value.get("properties"),
                                                     f"{field}.properties", name)}
    parent = value.get("parentSchemaProperties")
    if parent is not None:
        if not isinstance(parent, dict) or parent.get("tableType", "TT_BASE") not in TABLE_TYPES:
            raise bad_request(f"{field}.parentSchemaProperties.tableType: must be one of "
                              f"{sorted(TABLE_TYPES)}")
        out["parentSchemaProperties"] = {"tableType": parent.get("tableType", "TT_BASE")}
    children = value.get("childrenSchemas")
    if children:
        if not isinstance(children, list):
            raise bad_request(f"{field}.childrenSchemas: must be a list")
        out["childrenSchemas"] = copy.deepcopy(children)  # kept as given, not enforced
    return out


def check_schema(value: Any, field: str = "vaultSchema") -> tuple[list[dict[str, Any]],
                                                                   list[dict[str, Any]]]:
    """(tables, vault tags) of a ``vaultSchema``, validated; 400 naming the field."""
    if not isinstance(value, dict):
        raise bad_request(f"{field}: must be an object with schemas and tags")
    schemas = value.get("schemas")
    if not isinstance(schemas, list) or not schemas:
        raise bad_request(f"{field}.schemas: a vault needs at least one table")
    if len(schemas) > MAX_TABLES:
        raise bad_request(f"{field}.schemas: at most {MAX_TABLES} tables")
    tables = [_table(t, f"{field}.schemas[{i}]") for i, t in enumerate(schemas)]
    _unique(tables, f"{field}.schemas", "table")
    return tables, _tags(value.get("tags"), f"{field}.tags")


# ----- data in tables and columns ----------------------------------------------------------------
def records_of(tx: Tx, vault_id: str, table: str) -> list[dict[str, Any]]:
    return tx.find("record", parent=vault_id, name=table)


def _column_has_data(records: list[dict[str, Any]], column: str) -> bool:
    return any(r["fields"].get(column) is not None for r in records)


def _check_change(tx: Tx, vault_id: str, old: list[dict[str, Any]],
                  new: list[dict[str, Any]]) -> None:
    """Refuse removing a table or column that holds data, or retyping a column with data."""
    new_tables = {t["name"]: t for t in new}
    for table in old:
        records = records_of(tx, vault_id, table["name"])
        if not records:
            continue
        if table["name"] not in new_tables:
            raise failed_precondition(f"vaultSchema: table {table['name']} holds {len(records)} "
                                      "record(s) and cannot be removed")
        new_fields = {f["name"]: f for f in new_tables[table["name"]]["fields"]}
        for f in table["fields"]:
            if f["name"] == SKYFLOW_ID or not _column_has_data(records, f["name"]):
                continue
            now = new_fields.get(f["name"])
            if now is None:
                raise failed_precondition(f"vaultSchema: column {table['name']}.{f['name']} "
                                          "holds data and cannot be removed")
            if (now["datatype"], now["isArray"]) != (f["datatype"], f["isArray"]):
                raise failed_precondition(f"vaultSchema: column {table['name']}.{f['name']} "
                                          "holds data; its data type cannot be changed")


def _assign_ids(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> None:
    """Tables and fields keep their ids across schema changes (matched by name); new ones get
    new ids. An id the request gives must be the one the vault holds for that name (400)."""
    def assign(held: dict[str, str], items: list[dict[str, Any]], what: str) -> None:
        for item in items:
            known = held.get(item["name"])
            if item.get("ID") not in (None, known):
                raise bad_request(f"vaultSchema: {item['ID']} is not the id of {what} "
                                  f"{item['name']}")
            item["ID"] = known or new_id()

    old_by_name = {t["name"]: t for t in old}
    assign({t["name"]: t["ID"] for t in old}, new, "table")
    for table in new:
        fields = (old_by_name.get(table["name"]) or {}).get("fields") or []
        assign({f["name"]: f.get("ID") for f in fields if f.get("ID")}, table["fields"],
               f"a field of {table['name']}")


# ----- the backend -------------------------------------------------------------------------------
def vault_namespace(account_id: str, ws_id: str, vault_id: str) -> str:
    return f"skyflow:emulator/account:{account_id}/workspace:{ws_id}/vault:{vault_id}"


def _version(tx: Tx, vault: dict[str, Any], actor: str, operation: str) -> None:
    """Close the current schema version and open a new one holding the vault's schema."""
    now = go_time()
    versions = tx.find("vaultversion", parent=vault["ID"])
    for v in versions:
        if not v.get("endTime"):
            v["endTime"] = now
            tx.put("vaultversion", v["ID"], v, account_id=vault["accountID"],
                   parent=vault["ID"], name=v["versionTag"])
    tag = f"v{len(versions) + 1}"
    doc = {"ID": new_id(), "vaultID": vault["ID"], "versionTag": tag, "startTime": now,
           "endTime": "", "schemaOperation": operation,
           "schemas": copy.deepcopy(vault["schemas"]), "tags": copy.deepcopy(vault["tags"]),
           "BasicAudit": audit(actor)}
    tx.put("vaultversion", doc["ID"], doc, account_id=vault["accountID"], parent=vault["ID"],
           name=tag)


class Vaults:
    """The vault backend of one emulator account."""

    def __init__(self, state: State) -> None:
        self.store = state.store
        self.account_id = state.account_id

    def _load(self, tx: Tx, vault_id: str) -> dict[str, Any]:
        return load(tx, "vault", vault_id, "vault", self.account_id)

    def get(self, vault_id: str) -> dict[str, Any]:
        with self.store.read() as tx:
            return self._load(tx, vault_id)

    def list_(self, *, workspace: str | None, name: str | None,
             status: str | None) -> list[dict[str, Any]]:
        if status not in (None, "", "NONE") and status not in VAULT_STATUSES:
            raise bad_request(f"filterOps.status: must be one of {sorted(VAULT_STATUSES)}")
        with self.store.read() as tx:
            if workspace:
                load(tx, "workspace", check_id(workspace, "workspaceID"), "workspace",
                     self.account_id)
            items = tx.find("vault", account_id=self.account_id, name=name or None,
                            lookup=workspace or None)
        if status not in (None, "", "NONE"):
            items = [v for v in items if v.get("status", "ACTIVE") == status]
        return items

    def _owners(self, tx: Tx, value: Any, actor: str) -> list[tuple[str, str]]:
        if value in (None, []):
            return [(actor, "SERVICE_ACCOUNT")]
        if not isinstance(value, list):
            raise bad_request("owners: must be a list of members")
        out = []
        for i, m in enumerate(value):
            if not isinstance(m, dict) or m.get("type") not in ("SERVICE_ACCOUNT", "USER"):
                raise bad_request(f"owners[{i}].type: must be SERVICE_ACCOUNT or USER")
            mid = check_id(m.get("ID"), f"owners[{i}].ID")
            kind = "sa" if m["type"] == "SERVICE_ACCOUNT" else "user"
            load(tx, kind, mid, "service account" if kind == "sa" else "user", self.account_id)
            out.append((mid, str(m["type"])))
        return out

    def create(self, *, actor: str, body: dict[str, Any]) -> str:
        name = body.get("name")
        if not isinstance(name, str) or not VAULT_NAME_RE.match(name):
            raise bad_request("name: required; letters, digits and '-' (no spaces or "
                              "underscores)")
        description = opt_str(body, "description", "description", 1024) or ""
        ws_in = body.get("workspaceID")
        template_id, schema_in = body.get("templateID"), body.get("vaultSchema")
        if template_id and schema_in is not None:
            raise bad_request("templateID and vaultSchema: give one, not both")
        if template_id:
            tmpl = template_doc(check_id(template_id, "templateID"))
            tables, tags = check_schema(tmpl["vaultSchema"])
        elif schema_in is not None:
            tables, tags = check_schema(schema_in)
        else:  # Skyflow starts a custom vault with one table
            tables, tags = check_schema({"schemas": [
                {"name": "table1", "fields": [{"name": "name", "datatype": "DT_STRING"}]}]})
        for table in tables:  # a new vault's tables and fields get new ids
            table["ID"] = new_id()
            for f in table["fields"]:
                f["ID"] = new_id()
        if body.get("useMasterKey") not in (None, {}):
            raise bad_request("useMasterKey: customer-managed master keys are not emulated")
        with self.store.write() as tx:
            if ws_in in (None, ""):
                raise bad_request("workspaceID: required")
            ws = load(tx, "workspace", check_id(ws_in, "workspaceID"), "workspace",
                      self.account_id)
            if tx.find("vault", account_id=self.account_id, name=name, lookup=ws["ID"]):
                raise conflict(f"Conflict: a vault named {name} already exists in workspace "
                               f"{ws['ID']}")
            owners = self._owners(tx, body.get("owners"), actor)
            vault_id = new_id()
            vault: dict[str, Any] = {
                "ID": vault_id, "accountID": self.account_id, "workspaceID": ws["ID"],
                "name": name, "description": description, "schemas": tables, "tags": tags,
                "namespace": vault_namespace(self.account_id, ws["ID"], vault_id),
                "status": "ACTIVE", "BasicAudit": audit(actor)}
            if template_id:
                vault["templateID"] = template_id
            tx.put("vault", vault_id, vault, account_id=self.account_id,
                   parent=self.account_id, name=name, lookup=ws["ID"])
            _version(tx, vault, actor, "CREATE")
            self._system_roles(tx, vault, owners)
        return vault_id

    def _system_roles(self, tx: Tx, vault: dict[str, Any],
                      owners: list[tuple[str, str]]) -> None:
        res = {"ID": vault["ID"], "type": "VAULT", "name": vault["name"],
               "displayName": vault["name"]}
        for role_name, spec in SYSTEM_VAULT_ROLES.items():
            role = system_role(self.account_id, role_name, res, spec)
            tx.put("role", role["ID"], role, account_id=self.account_id, parent=vault["ID"],
                   name=role_name)
            if role_name == "VAULT_OWNER":
                for member_id, member_type in owners:
                    tx.add_member(role["ID"], member_id, member_type, None)

    def update(self, vault_id: str, *, actor: str, body: dict[str, Any]) -> str:
        if body.get("ID") not in (None, "", vault_id):
            raise bad_request("ID: does not match the path")
        if body.get("templateID"):
            raise bad_request("templateID: only at creation; send vaultSchema to change the "
                              "schema")
        with self.store.write() as tx:
            vault = self._load(tx, vault_id)
            name = body.get("name")
            if name is not None and name != vault["name"]:
                if not isinstance(name, str) or not VAULT_NAME_RE.match(name):
                    raise bad_request("name: letters, digits and '-' (no spaces or "
                                      "underscores)")
                if tx.find("vault", account_id=self.account_id, name=name,
                           lookup=vault["workspaceID"]):
                    raise conflict(f"Conflict: a vault named {name} already exists in "
                                   f"workspace {vault['workspaceID']}")
                vault["name"] = name
            description = opt_str(body, "description", "description", 1024)
            if description is not None:
                vault["description"] = description
            schema_in = body.get("vaultSchema")
            changed_schema = False
            if schema_in is not None:
                if "schemas" not in vault:
                    raise failed_precondition(f"vault {vault_id} was seeded without a schema; "
                                              "its tables appear with the first insert")
                tables, tags = check_schema(schema_in)
                _assign_ids(vault["schemas"], tables)
                _check_change(tx, vault["ID"], vault["schemas"], tables)
                changed_schema = (tables, tags) != (vault["schemas"], vault["tags"])
                vault["schemas"], vault["tags"] = tables, tags
            vault["BasicAudit"] = touch(vault["BasicAudit"], actor)
            tx.put("vault", vault["ID"], vault, account_id=self.account_id,
                   parent=self.account_id, name=vault["name"], lookup=vault["workspaceID"])
            if changed_schema:
                _version(tx, vault, actor, "UPDATE")
        return str(vault["ID"])

    def delete(self, vault_id: str) -> str:
        """The vault and everything in it: records, tokens, versions, roles, policies."""
        with self.store.write() as tx:
            vault = self._load(tx, vault_id)
            for kind in ("record", "token", "vaultversion"):
                tx.delete_children(kind, vault["ID"])
            for role in tx.find("role", parent=vault["ID"]):
                tx.drop_role_members(role["ID"])
                tx.drop_policy_links(role_id=role["ID"])
                tx.delete("role", role["ID"])
            for policy in tx.find("policy", parent=vault["ID"]):
                tx.drop_policy_links(policy_id=policy["ID"])
                tx.delete("policy", policy["ID"])
            tx.delete("vault", vault["ID"])
        return str(vault["ID"])

    def versions(self, vault_id: str) -> list[dict[str, Any]]:
        with self.store.read() as tx:
            vault = self._load(tx, vault_id)
            return tx.find("vaultversion", parent=vault["ID"])

    def version(self, vault_id: str, tag: str) -> dict[str, Any]:
        with self.store.read() as tx:
            vault = self._load(tx, vault_id)
            found = tx.find("vaultversion", parent=vault["ID"], name=tag)
        if not found:
            raise not_found(f"schema version {tag} of vault {vault_id} not found")
        return found[0]
