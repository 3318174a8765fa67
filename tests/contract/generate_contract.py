"""Derive the slim contract (paths, parameters, request and response schemas) from Skyflow's spec.

    venv/bin/python tests/contract/generate_contract.py [path/to/skyflow-management.openapi.json]

Writes tests/contract/management-contract.json. $refs are inlined, prose (description, example,
title) is dropped, and every object schema that lists properties is made strict
(additionalProperties: false) so a misspelt or invented response field fails validation.
Known, documented emulator extensions are allowed explicitly (EXTENSIONS below).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# Skyflow's published spec, committed with its MIT licence (docs/reference/).
DEFAULT_SPEC = HERE.parents[1] / "docs" / "reference" / "skyflow-management.openapi.json"
OUT = HERE / "management-contract.json"

PREFIXES = ("/v1/auth/sa/oauth/token", "/v1/serviceAccounts", "/v1/roles", "/v1/roleDefinitions",
            "/v1/members", "/v1/policies", "/v1/sts/config", "/v1/auth/sts/token",
            "/v1/vaults", "/v1/vault-templates", "/v1/workspaces", "/v1/users",
            "/v1/audit/events")
SKIP = ("signedtokenkey", "/v1/policies/rules")
DROP_KEYS = {"description", "example", "examples", "title", "x-fern-audiences"}
# Emulator extensions that appear in responses (documented in docs/emulator.md).
EXTENSIONS = {"v1Member": {"condition": {"type": "string"}}}

# The error envelope: SPEC's own examples for 400/401/409 all use it.
ERROR_ENVELOPE = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {"error": {
        "type": "object",
        "additionalProperties": False,
        "required": ["grpc_code", "http_code", "http_status", "message", "details"],
        "properties": {
            "grpc_code": {"type": "integer"}, "http_code": {"type": "integer"},
            "http_status": {"type": "string"}, "message": {"type": "string"},
            "details": {"type": "array"},
        },
    }},
}


def resolve(node: Any, schemas: dict[str, Any], stack: tuple[str, ...] = ()) -> Any:
    if isinstance(node, list):
        return [resolve(x, schemas, stack) for x in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        name = ref.rsplit("/", 1)[1]
        if name in stack:
            return {"type": "object"}
        target: Any = SPEC_ROOT[0]
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        out = resolve(target, schemas, (*stack, name))
        if name in EXTENSIONS and isinstance(out, dict):
            out = dict(out)
            out["properties"] = {**out.get("properties", {}), **EXTENSIONS[name]}
        return out
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in DROP_KEYS:
            continue
        if key == "properties":
            out[key] = {p: resolve(v, schemas, stack) for p, v in value.items()}
        else:
            out[key] = resolve(value, schemas, stack)
    # An object that lists its properties is strict. One that lists none is opaque, not empty:
    # the spec's ``Schema`` and ``Tag`` ("a representation of OpenAPI v2's Schema object") carry
    # a vault's tables and tags.
    if out.get("type") == "object" and out.get("properties"):
        out.setdefault("additionalProperties", False)
    if "readOnly" in out:
        out.pop("readOnly")
    return out


SPEC_ROOT: list[dict[str, Any]] = [{}]


def build(spec: dict[str, Any]) -> dict[str, Any]:
    SPEC_ROOT[0] = spec
    schemas = spec["components"]["schemas"]
    operations = []
    for path, ops in sorted(spec["paths"].items()):
        if not path.startswith(PREFIXES) or any(s in path for s in SKIP):
            continue
        for method, op in ops.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            plist = []
            for p in op.get("parameters", []):
                if "$ref" in p:
                    p = resolve(p, schemas)
                plist.append({"name": p["name"], "in": p["in"],
                              "required": bool(p.get("required", False)),
                              "schema": resolve(p.get("schema", {}), schemas)})
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            ok = op.get("responses", {}).get("200", {}).get("content", {}) \
                .get("application/json", {})
            operations.append({
                "operationId": op.get("operationId"),
                "method": method.upper(),
                "path": path,
                "permission": op.get("x-permission"),
                "parameters": plist,
                "requestBody": resolve(body.get("schema"), schemas) if body else None,
                "response": resolve(ok.get("schema", {}), schemas),
            })
    return {
        "source": "skyflow-management.openapi.json",
        "specVersion": spec.get("info", {}).get("version"),
        "errorEnvelope": ERROR_ENVELOPE,
        "operations": operations,
    }


def main(argv: list[str]) -> int:
    src = Path(argv[1]) if len(argv) > 1 else DEFAULT_SPEC
    contract = build(json.loads(src.read_text()))
    OUT.write_text(json.dumps(contract, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} ({len(contract['operations'])} operations)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
