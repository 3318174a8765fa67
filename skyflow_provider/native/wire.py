"""Between the engine's wire form (camelCase ``PropertyValue`` maps) and the provider classes'
plain dicts (snake_case, as the dynamic resources hold them).

Why schema-driven: only the names of declared fields and nested object fields are renamed. Map
values keep their keys (``ruleIds`` is keyed by rule name, ``keepers`` by the user's keys), and
``any`` values (``rotationTrigger``) pass untouched. Also where three traps of the experimental SDK
(3.272) are handled:

* unknowns: the engine sends an unknown as the sentinel string ``rpc.UNKNOWN``; the SDK's own
  ``PropertyValue.computed()`` cannot be marshalled, so an unknown goes back as that same string;
* numbers: ``PropertyValue(1)`` raises, so every int leaves as a float;
* secrets: the engine does not copy secretness from inputs to outputs for a provider that accepts
  secrets, so :func:`to_wire` marks every declared secret and every key that arrived secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi.provider.experimental.property_value import Computed, PropertyValue
from pulumi.runtime.rpc import UNKNOWN

from ..resources.declarations import FUNCTIONS, PROVIDER_CONFIG, RESOURCES
from ..resources.fields import Field, ObjectSpec, Type, camel, objects_of, snake


def _object_fields(obj: ObjectSpec) -> dict[str, Field]:
    return {f.name: f for f in obj.fields}


def field_types(fields: Iterable[Field]) -> dict[str, Type]:
    """snake name -> type, for the top level of a resource (args included: they are inputs of
    the Python programs only, never on the wire, but harmless)."""
    return {f.name: f.type for f in fields}


def _from_value(t: Type | None, pv: PropertyValue) -> Any:
    value = pv.value
    if isinstance(value, Computed):
        return UNKNOWN
    if value is None or isinstance(value, (bool, str, float)):
        return value
    if isinstance(value, Mapping):
        if t is not None and t.name == "object" and t.object is not None:
            fields = _object_fields(t.object)
            out = {}
            for key, item in value.items():
                name = snake(key)
                f = fields.get(name)
                out[name] = _from_value(f.type if f else None, item)
            return out
        items = t.items if t is not None and t.name == "map" else None
        return {key: _from_value(items, item) for key, item in value.items()}
    if isinstance(value, Sequence):
        items = t.items if t is not None and t.name == "array" else None
        return [_from_value(items, item) for item in value if isinstance(item, PropertyValue)]
    return value  # assets, archives, resource references: not used by this package


def from_wire(types: Mapping[str, Type], props: Mapping[str, PropertyValue]
              ) -> tuple[dict[str, Any], set[str]]:
    """(snake_case plain dict, snake names of the keys that arrived secret)."""
    out: dict[str, Any] = {}
    secret: set[str] = set()
    for key, pv in props.items():
        name = snake(key)
        out[name] = _from_value(types.get(name), pv)
        if pv.contains_secret():
            secret.add(name)
    return out, secret


def _to_value(t: Type | None, value: Any) -> PropertyValue:
    if value is None:
        return PropertyValue(None)
    if isinstance(value, bool):
        return PropertyValue(value)
    if isinstance(value, int):
        return PropertyValue(float(value))  # trap: PropertyValue(1) raises
    if isinstance(value, (float, str)):
        return PropertyValue(value)  # an unknown stays the sentinel string (trap)
    if isinstance(value, Computed):
        return PropertyValue(UNKNOWN)
    if isinstance(value, Mapping):
        if t is not None and t.name == "object" and t.object is not None:
            fields = _object_fields(t.object)
            return PropertyValue({
                camel(str(key)): _to_value(fields[key].type if key in fields else None, item)
                for key, item in value.items()
            })
        items = t.items if t is not None and t.name == "map" else None
        return PropertyValue({str(key): _to_value(items, item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        items = t.items if t is not None and t.name == "array" else None
        return PropertyValue([_to_value(items, item) for item in value])
    return PropertyValue(str(value))


def to_wire(types: Mapping[str, Type], props: Mapping[str, Any], secret: Iterable[str] = ()
            ) -> dict[str, PropertyValue]:
    """camelCase ``PropertyValue`` map; the keys in ``secret`` (snake names) marked secret."""
    secret = set(secret)
    out = {}
    for key, value in props.items():
        pv = _to_value(types.get(key), value)
        if key in secret and value is not None:
            pv = pv.with_secret(True)
        out[camel(key)] = pv
    return out


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
