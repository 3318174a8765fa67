"""A minimal slice of Skyflow's Data API: records in per-vault tables, tokens, detokenize.

A vault created through ``POST /v1/vaults`` has a schema: an insert into a table or column it
does not define is refused, and values must fit the column's data type. The seeded vault has
no schema (it predates them): its tables are created by the first insert. Each record
remembers the ``ctx`` of the token that inserted it; reading it with a token of another ``ctx``
is refused (an emulator approximation of context-aware authorization). Policies are not
evaluated here.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from ..errors import ApiError, bad_request, forbidden, not_found
from ..permissions import Grant, matches
from ..state import State
from ..store import Tx
from ..util import check_id
from .common import load

TABLE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
REDACTIONS = {"DEFAULT", "PLAIN_TEXT", "MASKED", "REDACTED"}
MAX_TOKEN = 256
LIST_LIMIT = 25
INSERT = "record.create"
READ = "record.read"


def vault_permission(grants: list[Grant], vault_id: str, permission: str) -> str | None:
    """Only roles held on this vault count; returns why not, or None when allowed.

    System vault roles grant ``record.*`` (owner, editor) or ``record.read`` (viewer); a custom
    role on the vault grants what its permissions match (``record.create``, ``record.read``,
    ``record.*`` or ``*``). Account-level roles grant no data access.
    """
    on_vault = [g for g in grants if g.resource_type == "VAULT" and g.resource_id == vault_id]
    if not on_vault:
        return f"Permission denied: no role on vault {vault_id}"
    if not any(matches(g.permission, permission) for g in on_vault):
        return f"Permission denied: missing permission {permission} on vault {vault_id}"
    return None


def value_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INTEGER"
    if isinstance(value, float):
        return "FLOAT"
    if value is None:
        return "NONE"
    return "STRING"


def redact(value: Any, redaction: str) -> Any:
    """No schema, so no per-column masks: MASKED keeps the last four characters."""
    if redaction in ("DEFAULT", "PLAIN_TEXT") or value is None:
        return value
    if redaction == "REDACTED":
        return "*REDACTED*"
    text = value if isinstance(value, str) else json.dumps(value)
    return "*" * max(len(text) - 4, 0) + text[-4:] if len(text) > 4 else "*" * len(text)


def _redaction(value: Any, field: str) -> str:
    if value in (None, ""):
        return "DEFAULT"
    if value not in REDACTIONS:
        raise bad_request(f"{field}: must be one of {sorted(REDACTIONS)}")
    return str(value)


def _fields(value: Any, i: int) -> dict[str, Any]:
    field = f"records[{i}].fields"
    if not isinstance(value, dict) or not value:
        raise bad_request(f"{field}: a non-empty object is required")
    for key, v in value.items():
        if not FIELD_RE.match(key) or key == "skyflow_id":
            raise bad_request(f"{field}.{key}: not a column name")
        if not isinstance(v, (str, int, float, bool)) and v is not None:
            raise bad_request(f"{field}.{key}: must be a string, number, boolean or null")
    return dict(value)


INTEGER_TYPES = {"DT_INT8", "DT_INT16", "DT_INT32", "DT_INT64", "DT_UINT8", "DT_UINT16",
                 "DT_UINT32", "DT_UINT64"}


def schema_columns(vault: dict[str, Any], table: str) -> dict[str, dict[str, Any]] | None:
    """The table's columns by name; None for a vault without a schema (the seeded one); 404
    when the schema has no such table."""
    if "schemas" not in vault:
        return None
    for t in vault["schemas"]:
        if t["name"] == table:
            return {f["name"]: f for f in t["fields"]}
    raise not_found(f"table {table} not found in vault {vault['ID']} (its schema defines "
                    f"{', '.join(t['name'] for t in vault['schemas'])})")


def _fits(value: Any, column: dict[str, Any]) -> bool:
    if value is None:
        return True
    if column.get("isArray"):
        return isinstance(value, list) and all(_fits(v, {**column, "isArray": False})
                                               for v in value)
    datatype = column["datatype"]
    if datatype == "DT_BOOL":
        return isinstance(value, bool)
    if datatype in INTEGER_TYPES:
        return isinstance(value, int) and not isinstance(value, bool)
    if datatype in ("DT_FLOAT32", "DT_FLOAT64"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, str)


def check_against_schema(columns: dict[str, dict[str, Any]], table: str,
                         fields: dict[str, Any], i: int) -> None:
    """Every field is a column of the table and its value fits the column's data type."""
    for key, value in fields.items():
        column = columns.get(key)
        if column is None:
            raise bad_request(f"records[{i}].fields.{key}: table {table} has no column {key}")
        if not _fits(value, column):
            raise bad_request(f"records[{i}].fields.{key}: not a {column['datatype']}"
                              + (" array" if column.get("isArray") else ""))


def _check_ctx(record: dict[str, Any], context: Any) -> None:
    if record.get("ctx") is not None and record["ctx"] != context:
        raise forbidden("Permission denied: context mismatch (the record was written with "
                        "another ctx)")


class Records:
    """The record backend of one emulator account."""

    def __init__(self, state: State) -> None:
        self.store = state.store
        self.account_id = state.account_id

    def vault(self, vault_id: str) -> dict[str, Any]:
        with self.store.read() as tx:
            return load(tx, "vault", vault_id, "vault", self.account_id)

    @staticmethod
    def _table(table: str) -> str:
        if not TABLE_RE.match(table):
            raise bad_request(f"table {table!r}: not a table name")
        return table

    def insert(self, vault_id: str, table: str, records: Any, tokenization: Any,
               context: Any) -> list[dict[str, Any]]:
        """Stored records: ``skyflow_id``, ``fields`` and, with tokenization, ``tokens``."""
        self._table(table)
        if not isinstance(records, list) or not records:
            raise bad_request("records: a non-empty list is required")
        if tokenization is not None and not isinstance(tokenization, bool):
            raise bad_request("tokenization: must be a boolean")
        out = []
        for i, rec in enumerate(records):
            if not isinstance(rec, dict):
                raise bad_request(f"records[{i}]: must be an object")
            fields = _fields(rec.get("fields"), i)
            tokens = {k: str(uuid.uuid4()) for k in fields}
            out.append({"skyflow_id": str(uuid.uuid4()), "accountID": self.account_id,
                        "vaultID": vault_id, "table": table, "fields": fields,
                        "tokens": tokens, "ctx": context, "tokenized": bool(tokenization)})
        with self.store.write() as tx:
            columns = schema_columns(self.vault_in(tx, vault_id), table)
            if columns is not None:
                for i, rec in enumerate(out):
                    check_against_schema(columns, table, rec["fields"], i)
            for rec in out:
                tx.put("record", rec["skyflow_id"], rec, account_id=self.account_id,
                       parent=vault_id, name=table)
                for column, token in rec["tokens"].items():
                    tx.put("token", token, {"token": token, "skyflow_id": rec["skyflow_id"],
                                            "column": column}, account_id=self.account_id,
                           parent=vault_id, name=table)
        return out

    def vault_in(self, tx: Tx, vault_id: str) -> dict[str, Any]:
        return load(tx, "vault", vault_id, "vault", self.account_id)

    def get(self, vault_id: str, table: str, ids: list[str], redaction: Any,
            context: Any) -> tuple[list[dict[str, Any]], str]:
        """The records asked for (all must exist and share the caller's ctx), or the first
        ones of the table the caller's ctx may see; and the redaction to apply."""
        self._table(table)
        mode = _redaction(redaction, "redaction")
        for i, rid in enumerate(ids):
            check_id(rid, f"skyflow_ids[{i}]")
        with self.store.read() as tx:
            in_schema = schema_columns(self.vault_in(tx, vault_id), table) is not None
            if not in_schema and not tx.find("record", parent=vault_id, name=table):
                raise not_found(f"table {table} not found in vault {vault_id}")
            if not ids:
                rows = [r for r in tx.find("record", parent=vault_id, name=table)
                        if r.get("ctx") is None or r["ctx"] == context]
                return rows[:LIST_LIMIT], mode
            rows = []
            for rid in dict.fromkeys(ids):
                rec = tx.get("record", rid)
                if rec is None or rec.get("vaultID") != vault_id or rec.get("table") != table:
                    raise not_found(f"No records found for skyflow_id {rid}")
                _check_ctx(rec, context)
                rows.append(rec)
        return rows, mode

    def detokenize(self, vault_id: str, params: Any, continue_on_error: Any,
                   context: Any) -> list[dict[str, Any]]:
        """One ``{token, value, valueType}`` per parameter; unknown tokens are 404 unless
        ``continueOnError`` (then the entry carries ``error``)."""
        if not isinstance(params, list) or not params:
            raise bad_request("detokenizationParameters: a non-empty list is required")
        out = []
        with self.store.read() as tx:
            for i, p in enumerate(params):
                if not isinstance(p, dict):
                    raise bad_request(f"detokenizationParameters[{i}]: must be an object")
                token = p.get("token")
                if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
                    raise bad_request(f"detokenizationParameters[{i}].token: required")
                mode = _redaction(p.get("redaction"), f"detokenizationParameters[{i}].redaction")
                doc = tx.get("token", token)
                rec = tx.get("record", doc["skyflow_id"]) if doc else None
                if rec is None or rec.get("vaultID") != vault_id:
                    if continue_on_error is True:
                        out.append({"token": token, "valueType": "NONE", "value": "",
                                    "error": "Token not found"})
                        continue
                    raise ApiError(404, f"Token not found: {token}")
                _check_ctx(rec, context)
                value = rec["fields"].get(doc["column"]) if doc else None
                shown = redact(value, mode)
                out.append({"token": token, "valueType": value_type(shown),
                            "value": shown if isinstance(shown, str) else json.dumps(shown)})
        return out
