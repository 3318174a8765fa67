"""The one declaration of every resource field, and what is derived from it.

Why: a field used to be written four or five times (the Args dataclass, ``INPUT_KEYS``,
``OUTPUT_KEYS``, the secret outputs, the ``Output`` annotations, the docs tables, the benchmark
floor) with nothing checking that they agreed. Now each field is a :class:`Field` in
``declarations.py``; the key tuples, secret outputs, defaults filled in ``check``, the replace
set of ``diff``, the Pulumi package schema, the typed Args/Outputs (``types.py``, generated), the
docs tables and the benchmark floor's shape are all derived from it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

#: Field kinds: ``input`` (user-settable, kept in state, compared by diff), ``output``
#: (provider-computed), ``arg`` (program-side convenience, turned into inputs before
#: registration, e.g. ``service_account=<ServiceAccount>``; never in state or the schema).
Kind = Literal["input", "output", "arg"]

#: Scalar type names, as Pulumi's package schema spells them.
SCALARS = ("string", "boolean", "number", "integer", "any")


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()


@dataclass(frozen=True)
class EnumSpec:
    """A closed set of string values Skyflow accepts (``authType``, member types, ...).

    Why declared: ``check`` refuses anything else, and the package schema turns it into an enum
    type, so TypeScript and Go programs get the values checked by their compilers.
    """

    name: str
    description: str
    values: tuple[str, ...]
    #: left out of the constant names (``DT_`` of the data types: ``DataType.String``)
    strip_prefix: str = ""

    def member_name(self, value: str) -> str:
        """The SDKs' constant name of a value: ``api_key`` -> ``ApiKey``, ``ACTIVE_ALL`` ->
        ``ActiveAll``."""
        value = value.removeprefix(self.strip_prefix)
        return "".join(part[:1].upper() + part[1:].lower()
                       for part in re.split(r"[^A-Za-z0-9]+", value) if part)


@dataclass(frozen=True)
class Type:
    """A field's type: a scalar, ``array`` of ``items``, ``map`` of ``items``, or an object;
    a ``string`` may be restricted to an enum."""

    name: str  # one of SCALARS, "array", "map", "object"
    items: Type | None = None
    object: ObjectSpec | None = None
    enum: EnumSpec | None = None

    def describe(self) -> str:
        r"""Short human form for docs: ``list of string``, ``IpAllowlist``, ``jwt \| api_key``."""
        if self.enum is not None:
            return " | ".join(self.enum.values)
        if self.name == "array":
            assert self.items is not None
            return f"list of {self.items.describe()}"
        if self.name == "map":
            assert self.items is not None
            return f"map of {self.items.describe()}"
        if self.name == "object":
            assert self.object is not None
            return self.object.name
        return {"boolean": "bool", "any": "any value"}.get(self.name, self.name)


STRING = Type("string")
BOOL = Type("boolean")
NUMBER = Type("number")
ANY = Type("any")


def list_of(items: Type) -> Type:
    return Type("array", items=items)


def map_of(items: Type) -> Type:
    return Type("map", items=items)


def object_of(spec: ObjectSpec) -> Type:
    return Type("object", object=spec)


def enum_of(spec: EnumSpec) -> Type:
    return Type("string", enum=spec)


@dataclass(frozen=True)
class Field:
    """One property: everything the code, the schema and the docs need to know about it."""

    name: str
    type: Type
    description: str
    kind: Kind = "input"
    #: inputs: the user must set it; outputs: always set once the object exists
    required: bool = False
    #: filled by ``check`` when the user leaves the input out (state is then complete)
    default: Any = NO_DEFAULT
    #: shown as the default in docs when it is computed rather than a constant (e.g. ``name``)
    default_doc: str | None = None
    secret: bool = False
    #: a change replaces the object (inputs only)
    replaces: bool = False
    #: compared by diff (False for hints and create-time-only inputs such as ``adopt_id``)
    compared: bool = True

    @property
    def camel(self) -> str:
        """The schema's property name (``display_name`` -> ``displayName``)."""
        return camel(self.name)

    def default_value(self) -> Any:
        """A fresh copy of the default (lists and dicts are never shared between resources)."""
        return copy.deepcopy(self.default)

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT


@dataclass(frozen=True)
class ObjectSpec:
    """A nested input object (``IpAllowlist``, ``PolicyRule``): its own fields."""

    name: str
    description: str
    fields: tuple[Field, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def defaults(self) -> dict[str, Any]:
        return {f.name: f.default_value() for f in self.fields if f.has_default}


@dataclass(frozen=True)
class ResourceSpec:
    """A resource type: its name (``skyflow:index:<name>``), description and fields."""

    name: str
    description: str
    fields: tuple[Field, ...]
    #: replace by deleting first (unique names, or ids derived from inputs)
    delete_before_replace: bool = False
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"{self.name}: fields declared twice: {', '.join(dupes)}")
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    @property
    def token(self) -> str:
        return f"skyflow:index:{self.name}"

    def _names(self, *, kind: Kind, **flags: bool) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields
                     if f.kind == kind and all(getattr(f, k) == v for k, v in flags.items()))

    @property
    def input_keys(self) -> tuple[str, ...]:
        """Every user-settable input kept in state."""
        return self._names(kind="input")

    @property
    def output_keys(self) -> tuple[str, ...]:
        """Provider-computed outputs."""
        return self._names(kind="output")

    @property
    def arg_keys(self) -> tuple[str, ...]:
        """Program-only arguments (resolved into inputs before registration)."""
        return self._names(kind="arg")

    @property
    def compared_keys(self) -> tuple[str, ...]:
        """Inputs that diff compares."""
        return self._names(kind="input", compared=True)

    @property
    def replace_keys(self) -> tuple[str, ...]:
        """Inputs whose change replaces the object."""
        return self._names(kind="input", replaces=True)

    @property
    def secret_outputs(self) -> tuple[str, ...]:
        """Outputs that are always secret (generated credentials)."""
        return tuple(f.name for f in self.fields if f.kind == "output" and f.secret)

    @property
    def secret_keys(self) -> tuple[str, ...]:
        """Every secret property, inputs included (the schema marks them all)."""
        return tuple(f.name for f in self.fields if f.kind != "arg" and f.secret)

    @property
    def state_keys(self) -> tuple[str, ...]:
        """Inputs then outputs: every key a resource's props hold."""
        return self.input_keys + self.output_keys

    def defaults(self) -> dict[str, Any]:
        """Constant defaults of the inputs, fresh copies."""
        return {f.name: f.default_value() for f in self.fields
                if f.kind == "input" and f.has_default}

    def fill_defaults(self, news: Mapping[str, Any]) -> dict[str, Any]:
        """``news`` with every absent (or None) input that has a default filled in; nested
        objects get their own fields' defaults."""
        out = dict(news)
        for f in self.fields:
            if f.kind != "input":
                continue
            if out.get(f.name) is None and f.has_default:
                out[f.name] = f.default_value()
            value = out.get(f.name)
            if f.type.name == "object" and isinstance(value, Mapping):
                assert f.type.object is not None
                out[f.name] = {**f.type.object.defaults(), **value}
        return out


def camel(name: str) -> str:
    """snake_case -> camelCase, as Pulumi schemas name properties."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def snake(name: str) -> str:
    """camelCase -> snake_case (the inverse of :func:`camel` for our names)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def types_of(specs: Iterable[ResourceSpec]) -> Iterator[Type]:
    """Every type the resources use, in declaration order: their fields', list and map items',
    and each nested object's fields' (every object visited once)."""
    objects: set[str] = set()

    def visit(t: Type | None) -> Iterator[Type]:
        if t is None:
            return
        yield t
        if t.object is not None and t.object.name not in objects:
            objects.add(t.object.name)
            for f in t.object.fields:
                yield from visit(f.type)
        yield from visit(t.items)

    for spec in specs:
        for f in spec.fields:
            yield from visit(f.type)


def enums_of(specs: Iterable[ResourceSpec]) -> list[EnumSpec]:
    """Every enum the resources use, once each, in declaration order."""
    return list({t.enum.name: t.enum for t in types_of(specs) if t.enum is not None}.values())


def objects_of(specs: Iterable[ResourceSpec]) -> list[ObjectSpec]:
    """Every nested object type the resources use, once each, in declaration order."""
    return list({t.object.name: t.object for t in types_of(specs)
                 if t.name == "object" and t.object is not None}.values())
