"""The artifacts of ``make dist``, used the way a user would, outside this repository.

``make dist`` builds into a temporary folder; each project lives in a temporary folder and gets
only those artifacts (plus their dependencies from PyPI, npm and the Go module proxy), never a
path into this repository: ``PATH`` holds the Pulumi CLI and the system's bin folders, no
virtualenv of ours and no ``pulumi-resource-skyflow``. One emulator, started from the built
wheel's ``[emulator]`` extra and exported to the projects by ``skyflow-emulator env`` (as the README
says), serves every project; each project uses its own names and checks its own objects.

* Python on the dynamic resources (the README's quick start), on the newest and on the oldest
  ``pulumi`` SDK the package allows: up, no-op up, refresh, destroy.
* Python on the generated SDK (``pulumi_skyflow``) with the plugin installed from its archive:
  two explicit providers, then ``pulumi import`` of an account made outside Pulumi.
* Pulumi YAML (examples/yaml) with the plugin installed by ``pulumi plugin install --file``.
* TypeScript (examples/typescript) compiled against the packed npm tarball, through the
  Automation API; Go (examples/go) built against the SDK folder with a ``replace``, the same way.

Each asserts what a user checks: the objects exist in Skyflow (the emulator), credentials are
secret outputs, a bearer token is minted from the exported credentials, destroy leaves nothing,
and no secret appears in any state file or captured output.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from skyflow_provider.resources.declarations import FUNCTIONS, RESOURCES
from skyflow_provider.resources.fields import snake
from tests.e2e.conftest import PROGRAMS, REPO_ROOT, list_service_accounts
from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.pulumi_cli import PulumiProject, Result, require_pulumi
from tests.helpers.secrets_scan import scan

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

VERSION = re.search(r'__version__ = "([^"]+)"',
                    (REPO_ROOT / "skyflow_provider" / "_version.py").read_text()).group(1)  # type: ignore[union-attr]
#: The oldest pulumi SDK pyproject.toml allows (the floor this test proves).
OLDEST_PULUMI = re.search(r'"pulumi>=([0-9.]+),<4"',
                          (REPO_ROOT / "pyproject.toml").read_text()).group(1)  # type: ignore[union-attr]
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
TIMEOUT = 1200


def _run(argv: list[str | Path], cwd: Path, env: dict[str, str] | None = None,
         timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))} exited with {proc.returncode}\n"
                             f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


class Dist:
    """The built artifacts, and everything prepared from them before the tests use it (venvs,
    the npm install, the Go build), made in parallel while the first tests run."""

    def __init__(self, out: Path, work: Path) -> None:
        self.out, self.work = out, work
        self.wheel = next(out.glob(f"skyflow_pulumi-{VERSION}-py3-none-any.whl"))
        self.sdk_wheel = next(out.glob(f"pulumi_skyflow-{VERSION}-py3-none-any.whl"))
        self.tarball = next(out.glob(f"skyflow_pulumi-{VERSION}.tar.gz"))
        self.plugin = next(out.glob(f"pulumi-resource-skyflow-v{VERSION}-*.tar.gz"))
        self.npm = next(out.glob(f"skyflow-pulumi-skyflow-{VERSION}.tgz"))
        self.go_sdk = out / "sdk-go"
        self.pool = ThreadPoolExecutor(max_workers=4)
        self.jobs: dict[str, Future[Path]] = {}

    def venv(self, name: str, *requirements: str) -> Path:
        """A fresh virtualenv holding ``requirements`` (artifact paths and PyPI pins)."""
        venv = self.work / "venvs" / name
        _run([sys.executable, "-m", "venv", venv], cwd=self.work)
        _run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-compile",
              "--disable-pip-version-check", *requirements], cwd=self.work)
        return venv

    def start(self, name: str, fn: Any, *args: Any) -> None:
        self.jobs[name] = self.pool.submit(fn, *args)

    def get(self, name: str) -> Path:
        return self.jobs[name].result(timeout=TIMEOUT)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dist]:
    require_pulumi()
    out = tmp_path_factory.mktemp("dist") / "dist"
    _run(["make", "dist", f"DIST={out}"], cwd=REPO_ROOT, timeout=2400)
    d = Dist(out, tmp_path_factory.mktemp("dist-work"))
    d.start("venv-newest", d.venv, "newest", f"{d.wheel}[emulator]")
    d.start("venv-oldest", d.venv, "oldest", str(d.wheel), f"pulumi=={OLDEST_PULUMI}")
    d.start("venv-native", d.venv, "native", str(d.sdk_wheel))
    if shutil.which("npm"):
        d.start("typescript", _typescript_build, d)
    if shutil.which("go"):
        d.start("go", _go_build, d)
    yield d
    d.pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def emulator(dist: Dist) -> Iterator[EmulatorProcess]:
    """The emulator of the built wheel's [emulator] extra, run outside the repository."""
    venv = dist.get("venv-newest")
    work = dist.work / "emulator"
    work.mkdir()
    with EmulatorProcess(work / "data", command=[str(venv / "bin" / "skyflow-emulator")],
                         cwd=work) as emu:
        yield emu


@pytest.fixture(scope="module")
def skyflow_env(dist: Dist, emulator: EmulatorProcess) -> dict[str, str]:
    """``eval "$(skyflow-emulator env --data-dir DIR)"``, as the README's quick start does."""
    cli = dist.get("venv-newest") / "bin" / "skyflow-emulator"
    out = _run([cli, "env", "--data-dir", emulator.data_dir], cwd=dist.work).stdout
    env = {}
    for line in out.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = shlex.split(value)[0]
    assert env["SKYFLOW_MANAGEMENT_URL"] == emulator.url
    assert env["SKYFLOW_VAULT_ID"] == emulator.vault_id
    return env


def _project(dist: Dist, program: Path, name: str, env: dict[str, str], *,
             venv: Path | None = None, extra_path: str = "") -> PulumiProject:
    """A project in its own folder; PATH = the Pulumi CLI, ``venv/bin``, the system."""
    bin_dir = str(Path(require_pulumi()).resolve().parent)
    path = ":".join(p for p in (bin_dir, str(venv / "bin") if venv else "", extra_path,
                                SYSTEM_PATH) if p)
    proj = PulumiProject(program, dist.work / "projects" / name, venv=venv,
                         env={**env, "PATH": path})
    assert shutil.which("pulumi-resource-skyflow", path=path) is None
    proj.stack_init("dev")
    return proj


def _install_plugin(proj: PulumiProject, dist: Dist) -> None:
    """``pulumi plugin install resource skyflow <v> --file <archive>`` into the project's own
    PULUMI_HOME (the user's plugin cache is never touched)."""
    proj.run("plugin", "install", "resource", "skyflow", VERSION, "--file", str(dist.plugin),
             stack=False)
    listed = proj.run("plugin", "ls", "--json", stack=False).stdout
    assert {"name": "skyflow", "version": VERSION} in [
        {"name": p["name"], "version": p["version"]} for p in json.loads(listed)]


def _names(emu: EmulatorProcess) -> set[str]:
    return {sa["name"] for sa in list_service_accounts(emu)}


def _token_from(dist: Dist, creds_text: str, emulator: EmulatorProcess) -> str:
    """A bearer token minted from exported credentials by the installed ``skyflow-token``."""
    cli = dist.get("venv-newest") / "bin" / "skyflow-token"
    path = dist.work / "creds.json"
    path.write_text(creds_text)
    path.chmod(0o600)
    try:
        token = _run([cli, "--credentials", path, "--ca-bundle", str(emulator.ca_bundle)],
                     cwd=dist.work).stdout.strip()
    finally:
        path.unlink()
    assert token.count(".") == 2, "not a JWT"
    return token


# ----- every resource in every artifact -------------------------------------------------------
def test_every_resource_and_function_is_in_every_artifact(dist):
    """New resources need no packaging change: each declared resource and function is in the
    plugin's schema (asked from the installed archive), the Python SDK's wheel, the npm tarball
    and the Go module, all at the one version."""
    names = [s.name for s in RESOURCES] + list(FUNCTIONS)
    home = dist.work / "schema-home"
    env = {**os.environ, "PULUMI_HOME": str(home), "PULUMI_SKIP_UPDATE_CHECK": "true",
           "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true", "PATH": SYSTEM_PATH}
    pulumi = require_pulumi()
    _run([pulumi, "plugin", "install", "resource", "skyflow", VERSION, "--file", dist.plugin],
         cwd=dist.work, env=env)
    schema = json.loads(_run([pulumi, "package", "get-schema", f"skyflow@{VERSION}"],
                             cwd=dist.work, env=env).stdout)
    assert schema["version"] == VERSION
    assert schema["pluginDownloadURL"] == "github://api.github.com/skyflow-pulumi/skyflow-pulumi"
    assert set(schema["resources"]) == {s.token for s in RESOURCES}
    assert set(schema["functions"]) == {f"skyflow:index:{n}" for n in FUNCTIONS}

    wheel = set(zipfile.ZipFile(dist.sdk_wheel).namelist())
    npm = set(tarfile.open(dist.npm).getnames())
    for name in names:
        low = name[0].lower() + name[1:]  # ServiceAccount -> serviceAccount
        assert f"pulumi_skyflow/{snake(low)}.py" in wheel, name
        assert {f"package/bin/{low}.js", f"package/bin/{low}.d.ts"} <= npm, name
        assert (dist.go_sdk / "skyflow" / f"{low}.go").is_file(), name
    assert json.loads(zipfile.ZipFile(dist.sdk_wheel).read("pulumi_skyflow/pulumi-plugin.json")
                      )["version"] == VERSION
    assert "module github.com/skyflow-pulumi/skyflow-pulumi/sdk/go\n" in \
        (dist.go_sdk / "go.mod").read_text()
    assert not [n for n in npm if n.endswith(".ts") and not n.endswith(".d.ts")]
    assert not [n for n in tarfile.open(dist.tarball).getnames() if "/tests/" in n]


# ----- Python, dynamic resources -----------------------------------------------------------------
@pytest.mark.parametrize("sdk", ["newest", "oldest"])
def test_python_dynamic_resources_from_the_wheel(dist, emulator, skyflow_env, sdk):
    venv = dist.get(f"venv-{sdk}")
    proj = _project(dist, PROGRAMS / "dist_dynamic", f"dynamic-{sdk}", skyflow_env, venv=venv)
    prefix = f"dist-{sdk}"
    proj.config_set("namePrefix", prefix)

    proj.up()
    masked = proj.outputs()
    assert masked["credentials"] == "[secret]"
    assert Path(masked["provider_module"]).is_relative_to(venv), masked["provider_module"]
    if sdk == "oldest":
        assert masked["pulumi_sdk"] == OLDEST_PULUMI
    assert f"{prefix}-payments-api" in _names(emulator)
    creds_text = proj.outputs(show_secrets=True)["credentials"]
    creds = json.loads(creds_text)
    assert creds["clientID"] == masked["client_id"]
    assert _token_from(dist, creds_text, emulator) and emulator.token(creds)

    proj.up(expect_no_changes=True)
    proj.refresh()
    proj.up(expect_no_changes=True)
    proj.destroy()
    assert f"{prefix}-payments-api" not in _names(emulator)
    assert scan({"private key": creds["privateKey"]}, roots=[proj.backend_dir],
                texts=proj.captured_texts()) == []


# ----- Python, generated SDK + plugin archive --------------------------------------------------
def test_python_native_sdk_two_providers_and_import(dist, emulator, skyflow_env):
    venv = dist.get("venv-native")
    proj = _project(dist, PROGRAMS / "dist_native_python", "native-python", skyflow_env,
                    venv=venv)
    _install_plugin(proj, dist)
    proj.config_set("adminCredentials", emulator.admin_credentials_path.read_text(), secret=True)

    proj.up()
    outs = proj.outputs()
    assert outs["payments_credentials"] == "[secret]" and outs["reporting_api_key"] == "[secret]"
    assert {"py-native-payments", "py-native-reporting"} <= _names(emulator)
    providers = {r["urn"].rsplit("::", 1)[-1] for r in proj.resources()
                 if r["type"] == "pulumi:providers:skyflow"}
    assert {"from-file", "from-text"} <= providers
    secrets = proj.outputs(show_secrets=True)
    creds = json.loads(secrets["payments_credentials"])
    assert creds["clientID"] == outs["payments_client_id"] and emulator.token(creds)

    # An account made outside Pulumi, imported, then declared as it is: nothing is replaced.
    made = emulator.session().post(
        f"{emulator.url}/v1/serviceAccounts", headers=emulator.headers(), timeout=30,
        json={"serviceAccount": {"name": "py-native-legacy", "displayName": "py-native-legacy",
                                 "description": "made outside Pulumi"}})
    made.raise_for_status()
    legacy_id = made.json()["clientID"]
    proj.run("import", "skyflow:index:ServiceAccount", "legacy", legacy_id, "--yes",
             "--generate-code=false")
    proj.config_set("declareImported", "true")
    up = proj.up()
    assert "replaced" not in up.stdout and "created" not in up.stdout, up.stdout
    assert proj.outputs()["legacy_client_id"] == legacy_id
    proj.up(expect_no_changes=True)

    proj.destroy()
    assert not {"py-native-payments", "py-native-reporting", "py-native-legacy"} & _names(emulator)
    assert scan({"private key": creds["privateKey"], "api key": secrets["reporting_api_key"]},
                roots=[proj.backend_dir], texts=proj.captured_texts()) == []


# ----- Pulumi YAML + plugin archive ---------------------------------------------------------------
def test_yaml_with_the_plugin_installed_from_its_archive(dist, emulator, skyflow_env):
    proj = _project(dist, REPO_ROOT / "examples" / "yaml", "yaml", skyflow_env)
    _install_plugin(proj, dist)
    proj.config_set("vaultId", emulator.vault_id)
    proj.config_set("namePrefix", "distyaml")

    up = proj.up()
    assert "from $PATH" not in up.output
    outs = proj.outputs()
    assert outs["paymentsCredentials"] == "[secret]" and outs["reportingApiKey"] == "[secret]"
    assert {"distyaml-payments-api", "distyaml-reporting"} <= _names(emulator)
    secrets = proj.outputs(show_secrets=True)
    creds = json.loads(secrets["paymentsCredentials"])
    assert _token_from(dist, secrets["paymentsCredentials"], emulator)
    assert creds["clientID"] == outs["paymentsClientId"]

    proj.up(expect_no_changes=True)
    proj.destroy()
    assert not {"distyaml-payments-api", "distyaml-reporting"} & _names(emulator)
    assert scan({"private key": creds["privateKey"], "api key": secrets["reportingApiKey"]},
                roots=[proj.backend_dir], texts=proj.captured_texts()) == []


# ----- TypeScript and Go through the Automation API ----------------------------------------------
def _typescript_build(d: Dist) -> Path:
    """examples/typescript's program against the packed tarball: npm install, tsc."""
    example = REPO_ROOT / "examples" / "typescript"
    app = d.work / "ts-app"
    app.mkdir()
    shutil.copy(example / "index.ts", app)
    shutil.copy(example / "tsconfig.json", app)
    package = json.loads((example / "package.json").read_text())
    package["dependencies"]["@skyflow-pulumi/skyflow"] = f"file:{d.npm}"
    (app / "package.json").write_text(json.dumps(package, indent=2))
    _run(["npm", "install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
         cwd=app)
    installed = app / "node_modules" / "@skyflow-pulumi" / "skyflow"
    meta = json.loads((installed / "package.json").read_text())
    assert meta["pulumi"] == {"name": "skyflow", "resource": True, "version": VERSION,
                              "server": "github://api.github.com/skyflow-pulumi/skyflow-pulumi"}
    assert (installed / meta["main"]).is_file() and (installed / meta["types"]).is_file()
    assert not list(installed.rglob("*.ts")) or all(
        p.name.endswith(".d.ts") for p in installed.rglob("*.ts"))
    _run(["npx", "tsc"], cwd=app)
    return app


def _go_build(d: Dist) -> Path:
    """examples/go's program against the SDK folder: go.mod with a replace, go build."""
    example = REPO_ROOT / "examples" / "go"
    app = d.work / "go-app"
    app.mkdir()
    shutil.copy(example / "main.go", app)
    shutil.copy(example / "go.sum", app)  # a head start; go mod tidy completes it
    (app / "go.mod").write_text(
        "module example.com/identities\n\ngo 1.26.6\n\n"
        "require (\n\tgithub.com/pulumi/pulumi/sdk/v3 v3.274.1\n"
        f"\tgithub.com/skyflow-pulumi/skyflow-pulumi/sdk/go v{VERSION}\n)\n\n"
        f"replace github.com/skyflow-pulumi/skyflow-pulumi/sdk/go => {d.go_sdk}\n")
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false -mod=mod",
           "GOTOOLCHAIN": "local"}
    _run(["go", "mod", "tidy"], cwd=app, env=env)
    _run(["go", "build", "-o", "identities", "."], cwd=app, env=env)

    # The module as shipped builds at its own floor: its go directive and Pulumi SDK stay what
    # go.mod says after tidy resolves the code's real needs (a newer need would raise them).
    floor = d.work / "go-sdk-floor"
    shutil.copytree(d.go_sdk, floor)
    shipped = (floor / "go.mod").read_text()
    _run(["go", "mod", "tidy"], cwd=floor, env=env)
    _run(["go", "build", "./..."], cwd=floor, env=env)
    tidied = (floor / "go.mod").read_text()
    for line in ("go 1.22", "github.com/pulumi/pulumi/sdk/v3 v3.150.0"):
        assert line in shipped and line in tidied, (line, tidied)
    return app / "identities"


def _automation(proj: PulumiProject, argv: list[str], action: str,
                extra: dict[str, str]) -> dict[str, int]:
    env = proj.environment()
    env.update({"WORK_DIR": str(proj.dir), "STACK": "dev", **extra})
    proc = subprocess.run([*argv, action], env=env, capture_output=True, text=True,
                          timeout=TIMEOUT, cwd=proj.dir)
    proj.captured.append(Result((Path(argv[-1]).name, action), proc.stdout, proc.stderr,
                                proc.returncode))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("SUMMARY ")][-1]
    return dict(json.loads(line.removeprefix("SUMMARY ")))


def test_typescript_against_the_npm_tarball(dist, emulator, skyflow_env):
    if "typescript" not in dist.jobs:
        pytest.skip("npm not installed")
    app = dist.get("typescript")
    node = shutil.which("node")
    assert node is not None
    proj = _project(dist, PROGRAMS / "typescript_inline", "ts", skyflow_env,
                    extra_path=str(Path(node).parent))
    _install_plugin(proj, dist)
    run = [node, str(app / "bin" / "index.js")]
    extra = {"NAME_PREFIX": "dist-ts"}

    assert _automation(proj, run, "up", extra).get("create") == 10
    assert proj.outputs()["payments_api_credentials"] == "[secret]"
    outs = proj.outputs(show_secrets=True)
    creds = json.loads(outs["payments_api_credentials"])
    assert _token_from(dist, outs["payments_api_credentials"], emulator)
    assert {"dist-ts-payments-api", "dist-ts-legacy-batch"} <= _names(emulator)
    assert set(_automation(proj, run, "up", extra)) == {"same"}
    _automation(proj, run, "destroy", extra)
    assert not {"dist-ts-payments-api", "dist-ts-analytics-etl", "dist-ts-legacy-batch"} \
        & _names(emulator)
    assert scan({"key": creds["privateKey"], "api key": outs["legacy_batch_api_key"]},
                roots=[proj.backend_dir], texts=proj.captured_texts()) == []


def test_go_against_the_sdk_module(dist, emulator, skyflow_env):
    if "go" not in dist.jobs:
        pytest.skip("no Go toolchain")
    binary = dist.get("go")
    proj = _project(dist, PROGRAMS / "go_inline", "go", skyflow_env)
    _install_plugin(proj, dist)
    run = [str(binary)]

    assert _automation(proj, run, "up", {}).get("create") == 3
    assert proj.outputs()["credentials"] == "[secret]"
    outs = proj.outputs(show_secrets=True)
    creds = json.loads(outs["credentials"])
    assert creds["clientID"] == outs["client_id"]
    assert _token_from(dist, outs["credentials"], emulator)
    assert set(_automation(proj, run, "up", {})) == {"same"}
    _automation(proj, run, "destroy", {})
    assert "go-payments-api" not in _names(emulator)
    assert scan({"key": creds["privateKey"]}, roots=[proj.backend_dir],
                texts=proj.captured_texts()) == []
