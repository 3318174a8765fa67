"""The declarations (resources/declarations.py) are the single source: the generated Args/Outputs,
the providers' key tuples, the Resource classes' secret outputs and sdk/schema.json agree with
them; the package's layering holds; the old flat module paths still work."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest

from skyflow_provider._legacy import MOVED
from skyflow_provider.api import settings as settings_mod
from skyflow_provider.resources import args as args_mod
from skyflow_provider.resources import outputs as outputs_mod
from skyflow_provider.resources.base import declare
from skyflow_provider.resources.declarations import RESOURCES

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "skyflow_provider"
IDS = [s.name for s in RESOURCES]


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.capitalize() for w in rest)


def module_of(spec):
    return importlib.import_module(f"skyflow_provider.resources.{snake(spec.name)}")


# --------------------------------------------------------------------------- (1) generated files


def test_generated_files_are_fresh() -> None:
    out = subprocess.run([sys.executable, "tools/generate.py", "--check"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


# --------------------------------------------------------------------------- (2) classes vs specs


@pytest.mark.parametrize("spec", RESOURCES, ids=IDS)
def test_args_dataclass_has_exactly_the_input_and_arg_fields(spec) -> None:
    cls = getattr(args_mod, f"{spec.name}Args")
    names = {f.name for f in dataclasses.fields(cls)}
    assert names == set(spec.input_keys) | set(spec.arg_keys)


@pytest.mark.parametrize("spec", RESOURCES, ids=IDS)
def test_outputs_class_annotates_exactly_inputs_and_outputs(spec) -> None:
    cls = getattr(outputs_mod, f"{spec.name}Outputs")
    names = set(cls.__annotations__)
    assert names == set(spec.input_keys) | set(spec.output_keys)


@pytest.mark.parametrize("spec", RESOURCES, ids=IDS)
def test_provider_key_tuples_are_the_specs(spec) -> None:
    provider = getattr(module_of(spec), f"{spec.name}Provider")
    assert provider.spec is spec
    assert provider.input_keys == spec.input_keys
    assert provider.output_keys == spec.output_keys
    assert provider.replace_keys == spec.replace_keys


@pytest.mark.parametrize("spec", RESOURCES, ids=IDS)
def test_resource_forces_the_declared_secret_outputs(spec) -> None:
    module = module_of(spec)
    resource = getattr(module, spec.name)
    assert resource.__module__ == module.__name__
    _props, opts = declare(spec, None, {}, getattr(args_mod, f"{spec.name}Args"), None)
    assert sorted(opts.additional_secret_outputs) == sorted(spec.secret_outputs)
    # the Resource class declares itself with its own spec
    src = Path(module.__file__).read_text()
    assert re.search(rf"declare\(\s*{re.escape(_spec_const(spec, module))}\b", src), spec.name


def _spec_const(spec, module) -> str:
    names = [k for k, v in vars(module).items() if v is spec]
    assert names, f"{module.__name__} does not import its spec"
    return names[0]


# --------------------------------------------------------------------------- (3) schema


def _schema() -> dict:
    return json.loads((ROOT / "sdk" / "schema.json").read_text())


@pytest.mark.parametrize("spec", RESOURCES, ids=IDS)
def test_schema_marks_exactly_the_declared_secrets(spec) -> None:
    res = _schema()["resources"][f"skyflow:index:{spec.name}"]
    secret = {k for part in ("properties", "inputProperties")
              for k, v in res.get(part, {}).items() if v.get("secret")}
    assert secret == {camel(k) for k in spec.secret_keys}
    assert spec.token == f"skyflow:index:{spec.name}"


def _enum_of(f):
    """The enum a field holds, itself or as its list's items; None when it holds none."""
    return f.type.enum or (f.type.items.enum if f.type.items is not None else None)


@pytest.mark.parametrize("spec", [s for s in RESOURCES if any(map(_enum_of, s.fields))],
                         ids=[s.name for s in RESOURCES if any(map(_enum_of, s.fields))])
def test_schema_enums_type_inputs_and_outputs_are_strings(spec) -> None:
    """Inputs carry the enum (SDK constants, checks in the editor); outputs the plain string, so
    an output passes straight into the same enum input in Pulumi YAML (its checker refuses an
    enum-typed value there: tests/e2e/test_rotation.py's YAML program does exactly that)."""
    schema = _schema()
    res = schema["resources"][spec.token]
    for f in spec.fields:
        enum = _enum_of(f)
        if enum is None:
            continue
        out = res["properties"][f.camel]
        assert "$ref" not in json.dumps(out), (spec.name, f.camel, out)
        if f.kind == "input":
            assert f"#/types/skyflow:index:{enum.name}" in json.dumps(
                res["inputProperties"][f.camel])
        assert [e["value"] for e in schema["types"][f"skyflow:index:{enum.name}"]["enum"]] == \
            list(enum.values)


def test_schema_tokens_are_the_resources() -> None:
    assert set(_schema()["resources"]) == {f"skyflow:index:{s.name}" for s in RESOURCES}


def test_schema_provider_config_matches_settings() -> None:
    variables = _schema()["config"]["variables"]
    expected = ["accountId", "managementUrl", "credentials", "credentialsFile", "apiKey",
                "bearerToken", "caBundle", "vaultId", "keyDriftReport", "adoptOwnOrphans",
                "oidcTokenSource", "oidcServiceAccountId", "oidcAudience", "sharedIssuers",
                "ownerTag"]
    assert list(variables) == expected
    assert {k for k, v in variables.items() if v.get("secret")} == {"credentials", "apiKey",
                                                                    "bearerToken"}
    pairs = [v for v in vars(settings_mod).values()
             if isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str)
             and v[0].startswith("skyflow:")]
    assert sorted(key.removeprefix("skyflow:") for key, _env in pairs) == sorted(expected)


# --------------------------------------------------------------------------- (4) layering

RANK = {"http": 0, "auth": 1, "api": 2, "recovery": 3, "resources": 4}
RESOURCE_MODULES = {"service_account", "api_key", "service_account_key", "role", "system_role",
                    "policy", "role_assignment", "policy_assignment", "sts_config", "vault",
                    "user"}
ALLOWED_RESOURCE_IMPORTS = {("role", "system_role")}  # role.py re-exports SystemRole (old pickles)


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append((".".join(parts), path))
    return out


def _imports(name: str, path: Path) -> set[str]:
    """Absolute names of everything the module imports (``from x import y`` gives x.y too)."""
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)
    return found


def _layer(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in RANK) else None


def test_layering() -> None:
    problems = []
    for name, path in _modules():
        layer = _layer(name)
        if layer not in RANK and layer not in ("vending", "native"):
            continue  # top-level modules and cli (may import anything)
        for imp in _imports(name, path):
            parts = imp.split(".")
            if parts[0] == "pulumi" and layer in ("http", "auth", "api", "recovery"):
                problems.append(f"{name} imports pulumi")
            if parts[0] != "skyflow_provider" or len(parts) < 2:
                continue
            target = parts[1]
            if layer == "vending":
                if target in ("resources", "cli", "native"):
                    problems.append(f"{name} imports {imp}")
                continue
            if layer == "native":  # the plugin sits on resources/, beside vending/
                if target in ("cli", "vending"):
                    problems.append(f"{name} imports {imp}")
                continue
            above = target in RANK and RANK[target] > RANK[layer]
            if target in ("vending", "cli", "native") or above:
                problems.append(f"{name} imports {imp}")
            if (layer == "resources" and target == "resources" and len(parts) > 2
                    and name.split(".")[-1] in RESOURCE_MODULES and parts[2] in RESOURCE_MODULES
                    and parts[2] != name.split(".")[-1]
                    and (name.split(".")[-1], parts[2]) not in ALLOWED_RESOURCE_IMPORTS):
                problems.append(f"{name} imports resource module {imp}")
    assert problems == []


def test_no_import_cycle() -> None:
    """No module imports itself through others, lazily (inside a function) or not: the recovery
    modules once did (ledger -> lifeline -> ledger)."""
    names = {name for name, _path in _modules()}
    graph = {name: {i for i in _imports(name, path) if i in names and i != name}
             for name, path in _modules()}
    for pkg_name in names:  # a package's __init__ importing its own modules is not a cycle
        graph[pkg_name] = {i for i in graph[pkg_name] if not i.startswith(pkg_name + ".")}
    cycles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    cycles.append(" -> ".join([*path, start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    assert cycles == []


def test_the_layering_check_sees_relative_imports() -> None:
    role = PKG / "resources" / "role.py"
    found = _imports("skyflow_provider.resources.role", role)
    assert "skyflow_provider.resources.system_role" in found
    assert "skyflow_provider.api.idempotency" in found


# --------------------------------------------------------------------------- (5) module size


def test_no_module_over_420_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for _name, p in _modules()
            if (n := len(p.read_text().splitlines())) > 420}
    assert long == {}


# --------------------------------------------------------------------------- (6) old paths


@pytest.mark.parametrize("old", sorted(MOVED))
def test_old_flat_path_is_the_new_module(old: str) -> None:
    assert (importlib.import_module(f"skyflow_provider.{old}")
            is importlib.import_module(f"skyflow_provider.{MOVED[old]}"))


def test_provider_pickled_under_the_old_path_loads() -> None:
    from skyflow_provider.resources.service_account import ServiceAccountProvider

    blob = pickle.dumps(ServiceAccountProvider(), protocol=0)
    new, old = b"skyflow_provider.resources.service_account", b"skyflow_provider.service_account"
    assert new in blob
    loaded = pickle.loads(blob.replace(new, old))
    assert type(loaded) is ServiceAccountProvider


def test_old_pending_module_runs() -> None:
    out = subprocess.run([sys.executable, "-m", "skyflow_provider.pending", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "usage" in out.stdout.lower()
