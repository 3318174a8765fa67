"""Between the engine's wire form (camelCase ``google.protobuf.Struct`` property maps) and the
provider classes' plain dicts (snake_case, as the dynamic resources hold them).

Why schema-driven: only the names of declared fields and nested object fields are renamed. Map
values keep their keys (``ruleIds`` is keyed by rule name, ``keepers`` by the user's keys), and
``any`` values (``rotationTrigger``) pass untouched.

Why straight from and to ``Struct``: the SDK's ``PropertyValue`` layer (a Python object per value,
each way) cost more CPU per request than our own code; this walks the message once. The engine's
encoding (``pulumi.runtime.rpc``; the constants below are checked against the SDK's in
``tests/native/test_wire.py``):

* a secret is ``{SIG: SECRET, "value": v}``; a top-level key whose value is or holds a secret
  arrives in the "secret" set, and :func:`to_struct` marks every key it is given as secret (the
  engine does not copy secretness from inputs to outputs for a provider that accepts secrets);
* an unknown (preview) is the string ``UNKNOWN``, kept as that string both ways: the classes
  treat it as unknown;
* numbers are doubles on the wire: an int leaves as a float, and arrives as one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from google.protobuf import struct_pb2

from ..resources.declarations import FUNCTIONS, PROVIDER_CONFIG, RESOURCES
from ..resources.fields import Field, ObjectSpec, Type, camel, objects_of, snake

#: pulumi.runtime.rpc: UNKNOWN, _special_sig_key, _special_secret_sig, _special_output_value_sig
#: and _special_resource_sig
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SIG = "4dabf18193072939515e22adb298388d"
SECRET = "1b47061264138c4ac30d75fd1eb44270"
OUTPUT = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
RESOURCE = "5cf8f73096256a8f31e491e813e4eb8e"

_snake = lru_cache(maxsize=4096)(snake)
_camel = lru_cache(maxsize=4096)(camel)
_OBJECT_FIELDS: dict[str, dict[str, Field]] = {}


def _object_fields(obj: ObjectSpec) -> dict[str, Field]:
    fields = _OBJECT_FIELDS.get(obj.name)
    if fields is None:
        fields = _OBJECT_FIELDS[obj.name] = {f.name: f for f in obj.fields}
    return fields


def field_types(fields: Iterable[Field]) -> dict[str, Type]:
    """snake name -> type, for the top level of a resource (args included: they are inputs of
    the Python programs only, never on the wire, but harmless)."""
    return {f.name: f.type for f in fields}


# ----- from the wire ---------------------------------------------------------------------------
def _special(t: Type | None, fields: Any) -> tuple[Any, bool]:
    sig = fields[SIG].string_value
    if sig == SECRET:
        value, _ = _from_value(t, fields["value"]) if "value" in fields else (None, False)
        return value, True
    if sig == OUTPUT:  # only sent to providers that accept outputs; read it as its value
        if "value" not in fields:
            return UNKNOWN, "secret" in fields and fields["secret"].bool_value
        value, inner = _from_value(t, fields["value"])
        return value, inner or ("secret" in fields and fields["secret"].bool_value)
    if sig == RESOURCE:  # only sent to providers that accept resources: its id, else its URN
        for key in ("id", "urn"):
            if key in fields:
                return _from_value(t, fields[key])
    # assets and archives: not used by this package; keep the map as it came
    return _from_map(None, fields)


def _from_map(t: Type | None, fields: Any) -> tuple[dict[str, Any], bool]:
    out: dict[str, Any] = {}
    secret = False
    if t is not None and t.name == "object" and t.object is not None:
        declared = _object_fields(t.object)
        for key, item in fields.items():
            name = _snake(key)
            f = declared.get(name)
            out[name], inner = _from_value(f.type if f else None, item)
            secret = secret or inner
        return out, secret
    items = t.items if t is not None and t.name == "map" else None
    for key, item in fields.items():
        out[key], inner = _from_value(items, item)
        secret = secret or inner
    return out, secret


def _from_value(t: Type | None, value: struct_pb2.Value) -> tuple[Any, bool]:
    """(plain value, whether it is or holds a secret)."""
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value, False  # an unknown stays the sentinel string
    if kind == "bool_value":
        return value.bool_value, False
    if kind == "number_value":
        return value.number_value, False
    if kind == "struct_value":
        fields = value.struct_value.fields
        if SIG in fields:
            return _special(t, fields)
        return _from_map(t, fields)
    if kind == "list_value":
        items = t.items if t is not None and t.name == "array" else None
        out: list[Any] = []
        secret = False
        for item in value.list_value.values:
            plain, inner = _from_value(items, item)
            out.append(plain)
            secret = secret or inner
        return out, secret
    return None, False  # null_value (or nothing set)


def from_struct(types: Mapping[str, Type], props: struct_pb2.Struct
                ) -> tuple[dict[str, Any], set[str]]:
    """(snake_case plain dict, snake names of the keys that arrived secret or holding one).

    The scalars of the top level (most of a resource's fields) are read inline: this runs for
    every request, and a call per field was a third of its cost."""
    out: dict[str, Any] = {}
    secret: set[str] = set()
    for key, value in props.fields.items():
        name = _snake(key)
        kind = value.WhichOneof("kind")
        if kind == "string_value":
            out[name] = value.string_value
        elif kind == "bool_value":
            out[name] = value.bool_value
        elif kind == "number_value":
            out[name] = value.number_value
        elif kind == "struct_value" or kind == "list_value":
            out[name], is_secret = _from_value(types.get(name), value)
            if is_secret:
                secret.add(name)
        else:
            out[name] = None
    return out, secret


# ----- to the wire -----------------------------------------------------------------------------
def _plain(t: Type | None, value: Any) -> Any:
    """The JSON-shaped value ``Struct.update`` takes, object field names in camelCase."""
    if value is None or isinstance(value, (bool, str, int, float)):
        return value  # an int becomes a double in the Struct; an unknown stays the sentinel
    if isinstance(value, Mapping):
        if t is not None and t.name == "object" and t.object is not None:
            declared = _object_fields(t.object)
            return {_camel(str(key)): _plain(declared[key].type if key in declared else None,
                                             item) for key, item in value.items()}
        items = t.items if t is not None and t.name == "map" else None
        return {str(key): _plain(items, item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        items = t.items if t is not None and t.name == "array" else None
        return [_plain(items, item) for item in value]
    if type(value).__name__ == "Unknown":  # pulumi.output.Unknown: never sent by the engine here
        return UNKNOWN
    return str(value)


def to_struct(types: Mapping[str, Type], props: Mapping[str, Any], secret: Iterable[str] = ()
              ) -> struct_pb2.Struct:
    """camelCase ``Struct``; the keys in ``secret`` (snake names) marked secret."""
    secret = set(secret)
    out: dict[str, Any] = {}
    for key, value in props.items():
        plain = _plain(types.get(key), value)
        if key in secret and value is not None:
            plain = {SIG: SECRET, "value": plain}
        out[_camel(key)] = plain
    struct = struct_pb2.Struct()
    struct.update(out)
    return struct


# ----- names in messages -------------------------------------------------------------------------
def _known_names() -> set[str]:
    names = {f.name for spec in RESOURCES for f in spec.fields}
    names |= {f.name for spec, _doc in FUNCTIONS.values() for f in spec.fields}
    names |= {f.name for obj in objects_of(RESOURCES) for f in obj.fields}
    names |= {f.name for f in PROVIDER_CONFIG}
    return {n for n in names if "_" in n}


_KNOWN = _known_names()
_SNAKE_WORD = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def camel_text(text: str) -> str:
    """Our messages name fields the Python way (``auth_type``); native programs spell them
    ``authType``. Only declared field names are rewritten."""
    return _SNAKE_WORD.sub(lambda m: camel(m.group(0)) if m.group(0) in _KNOWN else m.group(0),
                           text)


def camel_path(path: str) -> str:
    """``ip_allowlist.cidr_blocks`` -> ``ipAllowlist.cidrBlocks``; ``rules[0].row_filter`` ->
    ``rules[0].rowFilter``."""
    return re.sub(r"[a-z][a-z0-9_]*", lambda m: camel(m.group(0)), path)
