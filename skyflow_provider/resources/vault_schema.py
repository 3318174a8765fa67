"""A vault's typed schema: its normal form, its validation (no API call), Skyflow's
``vaultSchema`` in both directions, and which changes lose data.

Why a module of its own: ``Vault`` validates at preview, compares at diff, refuses destructive
changes at check (against the old inputs) and again at update (against what Skyflow holds), and
turns Skyflow's read form back into the declared one at refresh and import; all of these must
agree on one normal form, or refresh would report drift that is not there.

The typed form (``VaultSchemaArgs``)::

    {"tables": [{"name", "columns": [{"name", "datatype", "is_array", "description", "tags"}],
                 "description", "tags"}],
     "tags": {tag name: [values]}}

Skyflow's form (``v1VaultSchema``): ``schemas[]`` with ``fields[]`` (``name``, ``datatype``,
``isArray``, ``tags: [{name, values}]``, ``properties.description``), ``schemaTags``,
``properties.description``, and vault-level ``tags``. Every table has Skyflow's permanent
``skyflow_id`` column: it is sent (as Skyflow's documented example schema does) and never part of
the typed form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import CheckFailure

from . import checks as v
from .base import contains_unknown, is_unknown
from .declarations_vaults import VAULT_COLUMN, VAULT_SCHEMA, VAULT_TABLE
from .field_groups import DATA_TYPE

#: The spec's v1DataType, without its DT_INVALID placeholder.
DATATYPES = DATA_TYPE.values
#: Skyflow's docs: table and column names use lowercase letters, digits, '_' and '-'.
NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
NAME_HINT = "use lowercase letters, digits, '_' and '-', starting with a letter (at most 64)"
TAG_NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
SKYFLOW_ID = "skyflow_id"
MAX_TABLES = 100
MAX_COLUMNS = 500

Schema = dict[str, Any]


# ----- normal form -------------------------------------------------------------------------------
def _tags(value: Any) -> Any:
    """Tag map in normal form (values as lists); anything else is left for validation."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {k: list(vals) if isinstance(vals, (list, tuple)) else vals
                for k, vals in value.items()}
    return value


def _with_defaults(item: Any, defaults: dict[str, Any]) -> Any:
    if not isinstance(item, Mapping) or is_unknown(item):
        return item
    out = {**defaults, **{k: val for k, val in item.items() if val is not None}}
    out["tags"] = _tags(out.get("tags"))
    return out


def normalise(schema: Any) -> Any:
    """Declared defaults filled at every level, None fields dropped (deterministic state);
    unknown keys are kept so that validation reports them instead of dropping a typo."""
    out = _with_defaults(schema, VAULT_SCHEMA.defaults())
    if not isinstance(out, dict) or not isinstance(out.get("tables"), (list, tuple)):
        return out
    tables = []
    for table in out["tables"]:
        table = _with_defaults(table, VAULT_TABLE.defaults())
        if isinstance(table, dict) and isinstance(table.get("columns"), (list, tuple)):
            table["columns"] = [_with_defaults(c, VAULT_COLUMN.defaults())
                                for c in table["columns"]]
        tables.append(table)
    out["tables"] = tables
    return out


# ----- validation --------------------------------------------------------------------------------
def _check_tags(prop: str, value: Any) -> list[CheckFailure]:
    if is_unknown(value) or value is None:
        return []
    if not isinstance(value, Mapping):
        return [CheckFailure(prop, f"{prop} must be a map of tag name -> list of values, e.g. "
                             "{'skyflow.options.default_dlp_policy': ['MASK']}")]
    f: list[CheckFailure] = []
    for name, values in value.items():
        if not isinstance(name, str) or not TAG_NAME_RE.match(name):
            f.append(CheckFailure(prop, f"{prop}: {name!r} is not a tag name; Skyflow tags look "
                                  "like 'skyflow.options.default_dlp_policy'"))
            continue
        f += v.check_string_list(f"{prop}.{name}", values, max_len=1024)
    return f


def _check_name(prop: str, value: Any, what: str) -> list[CheckFailure]:
    return v.check_name(prop, value, max_len=64, pattern=NAME_RE,
                        pattern_hint=f"{what} names {NAME_HINT}")


def _check_column(p: str, column: Any) -> list[CheckFailure]:
    if is_unknown(column):
        return []
    if not isinstance(column, Mapping):
        return [CheckFailure(p, f"{p} must be an object (VaultColumnArgs)")]
    f = v.check_mapping(p, column, VAULT_COLUMN.keys)
    name = column.get("name")
    if name == SKYFLOW_ID:
        f.append(CheckFailure(f"{p}.name", f"{p}.name: {SKYFLOW_ID} is Skyflow's permanent "
                              "record id column, added to every table; it cannot be "
                              "redefined, so remove it from the schema"))
    else:
        f += _check_name(f"{p}.name", name, "column")
    datatype = column.get("datatype")
    if not is_unknown(datatype) and datatype not in DATATYPES:
        f.append(CheckFailure(f"{p}.datatype", f"{p}.datatype {datatype!r} is not a Skyflow "
                              f"data type; use one of {', '.join(DATATYPES)}"))
    f += v.check_bool(f"{p}.is_array", column.get("is_array"))
    f += v.check_string(f"{p}.description", column.get("description"),
                        max_len=v.MAX_DESCRIPTION, single_line=False)
    f += _check_tags(f"{p}.tags", column.get("tags"))
    return f


def _duplicates(prop: str, items: list[Any], what: str) -> list[CheckFailure]:
    """A failure on every repeated name, naming the first place it was used."""
    first: dict[str, int] = {}
    f = []
    for i, item in enumerate(items):
        name = item.get("name") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or is_unknown(name):
            continue
        if name in first:
            f.append(CheckFailure(f"{prop}[{i}].name", f"{prop}[{i}].name: {what} {name!r} is "
                                  f"defined twice (also {prop}[{first[name]}]); {what} names "
                                  "must be unique"))
        else:
            first[name] = i
    return f


def _check_table(p: str, table: Any) -> list[CheckFailure]:
    if is_unknown(table):
        return []
    if not isinstance(table, Mapping):
        return [CheckFailure(p, f"{p} must be an object (VaultTableArgs)")]
    f = v.check_mapping(p, table, VAULT_TABLE.keys)
    f += _check_name(f"{p}.name", table.get("name"), "table")
    columns = table.get("columns")
    if is_unknown(columns):
        return f
    if not columns:
        f.append(CheckFailure(f"{p}.columns", f"{p}.columns: table {table.get('name')!r} has no "
                              f"columns; a table needs at least one column besides "
                              f"{SKYFLOW_ID} (which Skyflow adds)"))
    elif not isinstance(columns, (list, tuple)):
        f.append(CheckFailure(f"{p}.columns", f"{p}.columns must be a list of columns"))
    else:
        f += v.check_list(f"{p}.columns", columns, max_items=MAX_COLUMNS)
        for j, column in enumerate(columns):
            f += _check_column(f"{p}.columns[{j}]", column)
        f += _duplicates(f"{p}.columns", list(columns), "column")
    f += v.check_string(f"{p}.description", table.get("description"),
                        max_len=v.MAX_DESCRIPTION, single_line=False)
    f += _check_tags(f"{p}.tags", table.get("tags"))
    return f


def validate(schema: Any, prop: str = "schema") -> list[CheckFailure]:
    """Every problem of a (normalised) schema, each naming its path, e.g.
    ``schema.tables[1].columns[3].datatype``."""
    if is_unknown(schema) or schema is None:
        return []
    if not isinstance(schema, Mapping):
        return [CheckFailure(prop, f"{prop} must be an object (VaultSchemaArgs) with tables")]
    f = v.check_mapping(prop, schema, VAULT_SCHEMA.keys)
    tables = schema.get("tables")
    if is_unknown(tables):
        return f
    if not tables or not isinstance(tables, (list, tuple)):
        f.append(CheckFailure(f"{prop}.tables", f"{prop}.tables: a vault needs at least one "
                              "table (a list of VaultTableArgs)"))
        return f
    f += v.check_list(f"{prop}.tables", tables, max_items=MAX_TABLES)
    for i, table in enumerate(tables):
        f += _check_table(f"{prop}.tables[{i}]", table)
    f += _duplicates(f"{prop}.tables", list(tables), "table")
    f += _check_tags(f"{prop}.tags", schema.get("tags"))
    return f


# ----- Skyflow's form ----------------------------------------------------------------------------
def _api_tags(tags: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"name": name, "values": list(values)} for name, values in sorted(tags.items())]


def _ids(held: Any) -> dict[tuple[str, str], str]:
    """Skyflow's ids of the tables (``(table, "")``) and fields (``(table, field)``) it holds."""
    out: dict[tuple[str, str], str] = {}
    for table in held or []:
        if not isinstance(table, Mapping) or not table.get("name"):
            continue
        if table.get("ID"):
            out[(str(table["name"]), "")] = str(table["ID"])
        for field in table.get("fields") or []:
            if isinstance(field, Mapping) and field.get("name") and field.get("ID"):
                out[(str(table["name"]), str(field["name"]))] = str(field["ID"])
    return out


def to_api(schema: Schema, held: Any = None) -> dict[str, Any]:
    """The ``vaultSchema`` of a create or update body. ``held``: the tables Skyflow has (an
    update); the tables and columns that stay carry their ids, so that Skyflow cannot take one
    for a new table or column of the same name."""
    ids = _ids(held)

    def with_id(item: dict[str, Any], table: str, field: str = "") -> dict[str, Any]:
        found = ids.get((table, field))
        return {"ID": found, **item} if found else item

    tables = []
    for table in schema["tables"]:
        name = table["name"]
        fields = [with_id({"name": SKYFLOW_ID, "datatype": "DT_STRING"}, name, SKYFLOW_ID)]
        for column in table["columns"]:
            field: dict[str, Any] = {"name": column["name"], "datatype": column["datatype"],
                                     "isArray": bool(column["is_array"]),
                                     "tags": _api_tags(column["tags"]),
                                     "properties": {"name": column["name"]}}
            if column["description"]:
                field["properties"]["description"] = column["description"]
            fields.append(with_id(field, name, column["name"]))
        out: dict[str, Any] = {"name": name, "fields": fields,
                               "schemaTags": _api_tags(table["tags"]),
                               "properties": {"name": name}}
        if table["description"]:
            out["properties"]["description"] = table["description"]
        tables.append(with_id(out, name))
    return {"schemas": tables, "tags": _api_tags(schema["tags"])}


def _typed_tags(remote: Any, declared: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """Skyflow's ``[{name, values}]`` as a map. With the declared map, only tags it names are
    kept: Skyflow may add settings of its own to a column, which are not drift."""
    out: dict[str, list[str]] = {}
    for tag in remote or []:
        if isinstance(tag, Mapping) and tag.get("name"):
            out[str(tag["name"])] = [str(x) for x in tag.get("values") or []]
    if declared is not None:
        out = {k: vals for k, vals in out.items() if k in declared}
    return out


def _description(item: Mapping[str, Any]) -> str:
    return str((item.get("properties") or {}).get("description") or "")


def _ordered(remote: dict[str, Any], declared: list[Any]) -> list[Any]:
    """Remote items in the declared order, then the ones only Skyflow has."""
    names = [d.get("name") for d in declared if isinstance(d, Mapping)]
    return [remote[n] for n in names if n in remote] + \
        [item for n, item in remote.items() if n not in names]


def from_api(tables: Any, tags: Any, declared: Schema | None = None) -> Schema:
    """Skyflow's read form as the typed normal form, in the declared order (so a refresh that
    finds what was declared shows no change). ``declared``: the schema in state, or None on
    import (then every tag is kept)."""
    d_tables = {t["name"]: t for t in (declared or {}).get("tables") or []
                if isinstance(t, Mapping)}
    out_tables: dict[str, Any] = {}
    for table in tables or []:
        if not isinstance(table, Mapping) or not table.get("name"):
            continue
        name = str(table["name"])
        d_table = d_tables.get(name)
        d_columns = {c["name"]: c for c in (d_table or {}).get("columns") or []
                     if isinstance(c, Mapping)}
        columns: dict[str, Any] = {}
        for field in table.get("fields") or []:
            if not isinstance(field, Mapping) or field.get("name") in (None, SKYFLOW_ID):
                continue
            d_col = d_columns.get(str(field["name"]))
            columns[str(field["name"])] = {
                "name": str(field["name"]), "datatype": str(field.get("datatype") or ""),
                "is_array": bool(field.get("isArray")), "description": _description(field),
                "tags": _typed_tags(field.get("tags"), d_col.get("tags") if d_col else None)}
        out_tables[name] = {
            "name": name,
            "columns": _ordered(columns, list((d_table or {}).get("columns") or [])),
            "description": _description(table),
            "tags": _typed_tags(table.get("schemaTags"),
                                d_table.get("tags") if d_table else None)}
    return {"tables": _ordered(out_tables, list((declared or {}).get("tables") or [])),
            "tags": _typed_tags(tags, declared.get("tags") if declared else None)}


# ----- what loses data ---------------------------------------------------------------------------
def destructive_changes(old: Any, new: Any, prop: str = "schema") -> list[tuple[str, str]]:
    """(path, message) for every change from ``old`` to ``new`` that removes a table or column
    or changes a column's datatype or is_array: their data would be lost (Skyflow itself refuses
    such a change for a column that holds data)."""
    if not isinstance(old, Mapping) or not isinstance(new, Mapping) or contains_unknown(new):
        return []
    fix = ("declare it again, or set allow_destructive_schema_changes=true to accept losing "
           "its data")
    out: list[tuple[str, str]] = []
    new_tables = {t.get("name"): (i, t) for i, t in enumerate(new.get("tables") or [])
                  if isinstance(t, Mapping)}
    for table in old.get("tables") or []:
        if not isinstance(table, Mapping):
            continue
        name = table.get("name")
        if name not in new_tables:
            out.append((f"{prop}.tables", f"{prop}.tables: table {name!r} is in the vault but "
                        f"not declared; an update would delete it and its data: {fix}"))
            continue
        i, now = new_tables[name]
        new_columns = {c.get("name"): (j, c) for j, c in enumerate(now.get("columns") or [])
                       if isinstance(c, Mapping)}
        for column in table.get("columns") or []:
            if not isinstance(column, Mapping):
                continue
            cname = column.get("name")
            where = f"{prop}.tables[{i}].columns"
            if cname not in new_columns:
                out.append((where, f"{where}: column {name}.{cname} is in the vault but not "
                            f"declared; an update would drop it and its data: {fix}"))
                continue
            j, col = new_columns[cname]
            for key in ("datatype", "is_array"):
                if column.get(key) != col.get(key):
                    out.append((f"{where}[{j}].{key}", f"{where}[{j}].{key}: changing column "
                                f"{name}.{cname} from {column.get(key)!r} to {col.get(key)!r} "
                                "loses its data (Skyflow refuses it for a column holding "
                                "data); keep the old value, or set "
                                "allow_destructive_schema_changes=true"))
    return out
