"""The Pulumi package schema (``skyflow``), built from the field declarations.

Why in the package rather than only in the generator: a provider plugin serves its schema
(GetSchema), so it must be computable at run time; ``make generate`` writes the same dict to
``sdk/schema.json`` for code generators and reviewers.
"""

from __future__ import annotations

from typing import Any

from .._version import __version__ as VERSION
from .declarations import FUNCTIONS, PROVIDER_CONFIG, RESOURCES
from .fields import EnumSpec, Field, ResourceSpec, Type, enums_of, objects_of

PACKAGE = "skyflow"
#: Where the plugin archives WILL be published (GitHub releases of the project, tag
#: v<version>, assets pulumi-resource-skyflow-v<version>-<os>-<arch>.tar.gz): the CLI and every
#: SDK fetch the plugin from here once it is published (docs/install.md).
PLUGIN_DOWNLOAD_URL = "github://api.github.com/skyflow-pulumi/skyflow-pulumi"
#: The Go SDK's module (nested module sdk/go of the project's repository, tags sdk/go/v<version>).
GO_MODULE = "github.com/skyflow-pulumi/skyflow-pulumi/sdk/go"


def type_ref(t: Type, *, enums: bool = True) -> dict[str, Any]:
    """A schema type spec for a field type.

    ``enums=False`` (resource and function outputs) gives an enum's underlying string: Pulumi
    YAML's type checker refuses an enum output passed to the same enum input (``${svc.authType}``
    into ``serviceAccountAuthType``), so enums type what goes in and plain strings what comes out,
    as large providers (azure-native) do.
    """
    if t.enum is not None:
        if not enums:
            return {"type": "string"}
        return {"$ref": f"#/types/{PACKAGE}:index:{t.enum.name}"}
    if t.name == "array":
        assert t.items is not None
        return {"type": "array", "items": type_ref(t.items, enums=enums)}
    if t.name == "map":
        assert t.items is not None
        return {"type": "object", "additionalProperties": type_ref(t.items, enums=enums)}
    if t.name == "object":
        assert t.object is not None
        return {"$ref": f"#/types/{PACKAGE}:index:{t.object.name}"}
    if t.name == "any":
        return {"$ref": "pulumi.json#/Any"}
    return {"type": t.name}


def property_spec(f: Field, *, for_input: bool = False, enums: bool = True) -> dict[str, Any]:
    """One property: type, description, secret, replaceOnChanges, default (``enums``: see
    type_ref; False for what a resource or function gives back)."""
    out: dict[str, Any] = {**type_ref(f.type, enums=enums), "description": f.description}
    if f.secret:
        out["secret"] = True
    if f.replaces:
        out["replaceOnChanges"] = True
    if for_input and f.has_default and isinstance(f.default, (str, bool, int, float)):
        out["default"] = f.default
    return out


def _properties(fields: tuple[Field, ...] | list[Field], *, for_input: bool,
                enums: bool = True) -> dict[str, dict[str, Any]]:
    return {f.camel: property_spec(f, for_input=for_input, enums=enums) for f in fields}


def resource_schema(spec: ResourceSpec) -> dict[str, Any]:
    """A resource entry: inputs, and every state property (inputs and outputs) as outputs."""
    inputs = [f for f in spec.fields if f.kind == "input"]
    state = [f for f in spec.fields if f.kind in ("input", "output")]
    return {
        "description": spec.description,
        "inputProperties": _properties(inputs, for_input=True),
        "requiredInputs": [f.camel for f in inputs if f.required],
        "properties": _properties(state, for_input=False, enums=False),
        # Inputs with a default and outputs Skyflow always returns are always set in state.
        "required": [f.camel for f in state if f.required or f.has_default],
    }


def function_schema(spec: ResourceSpec, description: str) -> dict[str, Any]:
    """A function (invoke) from a spec: its inputs are the arguments, its inputs and outputs
    the result (inputs come back resolved, so they are always in the result)."""
    inputs = [f for f in spec.fields if f.kind == "input"]
    state = [f for f in spec.fields if f.kind in ("input", "output")]

    def props(fields: list[Field], *, enums: bool = True) -> dict[str, dict[str, Any]]:
        out = _properties(fields, for_input=False, enums=enums)
        for prop in out.values():
            prop.pop("replaceOnChanges", None)
        return out

    return {
        "description": description,
        "inputs": {
            "properties": props(inputs),
            "required": [f.camel for f in inputs if f.required],
        },
        "outputs": {
            "properties": props(state, enums=False),
            "required": [f.camel for f in state if f.required or f.kind == "input"],
        },
    }


def enum_type(spec: EnumSpec) -> dict[str, Any]:
    """An enum type: its values with the constant names the SDKs give them."""
    return {
        "type": "string",
        "description": spec.description,
        "enum": [{"name": spec.member_name(v), "value": v} for v in spec.values],
    }


def package_schema() -> dict[str, Any]:
    """The whole package schema as a dict (JSON-ready, deterministic order)."""
    config = _properties(list(PROVIDER_CONFIG), for_input=True)
    types = {
        f"{PACKAGE}:index:{obj.name}": {
            "type": "object",
            "description": obj.description,
            "properties": _properties(list(obj.fields), for_input=True),
            "required": [f.camel for f in obj.fields if f.required],
        }
        for obj in objects_of(RESOURCES)
    }
    types.update({f"{PACKAGE}:index:{e.name}": enum_type(e) for e in enums_of(RESOURCES)})
    return {
        "name": PACKAGE,
        "displayName": "Skyflow",
        "version": VERSION,
        "description": "Skyflow vaults, users, service accounts, keys, roles and policies.",
        "keywords": ["pulumi", "skyflow", "category/security"],
        "license": "Apache-2.0",
        "homepage": "https://github.com/skyflow-pulumi/skyflow-pulumi",
        "repository": "https://github.com/skyflow-pulumi/skyflow-pulumi",
        "pluginDownloadURL": PLUGIN_DOWNLOAD_URL,
        "meta": {"moduleFormat": "(.*)"},
        "config": {"variables": config},
        "provider": {
            "description": "The Skyflow provider: one Skyflow account per provider instance.",
            "inputProperties": config,
        },
        "types": types,
        "resources": {spec.token: resource_schema(spec) for spec in RESOURCES},
        "functions": {f"{PACKAGE}:index:{name}": function_schema(spec, description)
                      for name, (spec, description) in FUNCTIONS.items()},
        "language": {
            # pulumi>=3.269 (the generator's floor: the SDK calls runtime.exists_resource)
            "python": {"packageName": "pulumi_skyflow", "respectSchemaVersion": True,
                       "pyproject": {"enabled": True}},
            "nodejs": {"packageName": "@skyflow-pulumi/skyflow", "respectSchemaVersion": True},
            "go": {"importBasePath": f"{GO_MODULE}/{PACKAGE}", "respectSchemaVersion": True},
        },
    }
