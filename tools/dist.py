"""``make dist``: every artifact of a release, built into one folder (``dist/`` by default).

    skyflow_pulumi-<v>.tar.gz, skyflow_pulumi-<v>-py3-none-any.whl   the Python package (the wheel
                                                                     is built from the sdist)
    pulumi_skyflow-<v>.tar.gz, pulumi_skyflow-<v>-py3-none-any.whl   the Python SDK of the plugin
    pulumi-resource-skyflow-v<v>-<os>-<arch>.tar.gz                  the plugin, per platform
    skyflow-pulumi-skyflow-<v>.tgz                                   the Node.js SDK (npm pack)
    sdk-go/                                                          the Go SDK module
    SHA256SUMS

The version is skyflow_provider/_version.py's, the one place it is set. The SDKs are the
committed ones (``make generate`` writes them; a test fails when they are stale).

The plugin is a PEX (pex from PyPI): one executable zip holding skyflow_provider and its
dependencies for CPython 3.11 to 3.14, started by a /bin/sh preamble that picks a python3 on PATH;
on first start it unpacks itself into a virtualenv under ~/.cache/pex (PEX_ROOT) and later starts
go straight there. Why, against a PulumiPlugin.yaml source plugin: docs/install.md.
Platforms: the host's by default; ``--platform linux-arm64`` (repeatable) or
``PLUGIN_PLATFORMS="linux-amd64 darwin-arm64"`` cross-build from PyPI's wheels.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
PLUGIN = "pulumi-resource-skyflow"
#: CPython versions the plugin carries wheels for (pulumi and grpcio publish wheels for each).
PYTHONS = ((3, 11), (3, 12), (3, 13), (3, 14))
#: Pulumi's <os>-<arch> names -> (sys_platform, platform_system, machine, wheel platform tags).
GLIBC = range(28, 16, -1)  # manylinux_2_28 (glibc 2.28: Debian 10, RHEL 8, Ubuntu 18.10) down
MACOS = [(v, 0) for v in range(14, 10, -1)] + [(10, m) for m in range(16, 8, -1)]
PLATFORMS: dict[str, tuple[str, str, str, list[str]]] = {
    "linux-amd64": ("linux", "Linux", "x86_64",
                    [f"manylinux_2_{g}_x86_64" for g in GLIBC] + ["manylinux2014_x86_64",
                                                                  "linux_x86_64"]),
    "linux-arm64": ("linux", "Linux", "aarch64",
                    [f"manylinux_2_{g}_aarch64" for g in GLIBC] + ["manylinux2014_aarch64",
                                                                   "linux_aarch64"]),
    "darwin-amd64": ("darwin", "Darwin", "x86_64",
                     [f"macosx_{a}_{b}_{arch}" for a, b in MACOS
                      for arch in ("x86_64", "universal2", "intel")]),
    "darwin-arm64": ("darwin", "Darwin", "arm64",
                     [f"macosx_{a}_{b}_{arch}" for a, b in MACOS if a >= 11
                      for arch in ("arm64", "universal2")]),
}


START = time.monotonic()


def log(message: str) -> None:
    print(f"dist: [{time.monotonic() - START:5.0f}s] {message}", file=sys.stderr, flush=True)


def run(*argv: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> None:
    subprocess.run([str(a) for a in argv], cwd=cwd, check=True,
                   env={**os.environ, **(env or {})})


def version() -> str:
    text = (ROOT / "skyflow_provider" / "_version.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.M)
    if not match:
        raise SystemExit("dist: no __version__ in skyflow_provider/_version.py")
    return match.group(1)


def host_platform() -> str:
    system = {"Linux": "linux", "Darwin": "darwin"}.get(platform.system())
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64",
            "arm64": "arm64"}.get(platform.machine().lower())
    if system is None or arch is None:
        raise SystemExit(f"dist: no plugin build for {platform.system()} {platform.machine()}")
    return f"{system}-{arch}"


# ----- Python packages ---------------------------------------------------------------------------
def python_package(out: Path) -> Path:
    """sdist, then the wheel built from it (which proves the sdist is complete)."""
    log("skyflow-pulumi: sdist and wheel")
    run(PYTHON, "-m", "build", "--no-isolation", "--outdir", out, ROOT)
    return next(out.glob("skyflow_pulumi-*.whl"))


def python_sdk(out: Path, work: Path) -> None:
    """The generated Python SDK (sdk/python), built from a copy so the tree stays clean."""
    log("pulumi_skyflow: sdist and wheel")
    src = work / "sdk-python"
    shutil.copytree(ROOT / "sdk" / "python", src,
                    ignore=shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__"))
    run(PYTHON, "-m", "build", "--no-isolation", "--outdir", out, src)


# ----- the plugin --------------------------------------------------------------------------------
def complete_platform(name: str, py: tuple[int, int], path: Path) -> Path:
    """A pex complete platform: the marker environment and wheel tags of CPython ``py`` on
    ``name``, so pex resolves that interpreter's wheels without having it."""
    from packaging import tags

    sys_platform, system, machine, plats = PLATFORMS[name]
    abi = f"cp{py[0]}{py[1]}"
    compatible = [str(t) for t in tags.cpython_tags(py, abis=[abi], platforms=plats)]
    compatible += [str(t) for t in tags.compatible_tags(py, interpreter=abi, platforms=plats)]
    full = f"{py[0]}.{py[1]}.0"
    env = {
        "implementation_name": "cpython", "implementation_version": full, "os_name": "posix",
        "platform_machine": machine, "platform_python_implementation": "CPython",
        "platform_release": "", "platform_system": system, "platform_version": "",
        "python_full_version": full, "python_version": f"{py[0]}.{py[1]}",
        "sys_platform": sys_platform,
    }
    path.write_text(json.dumps({"marker_environment": env, "compatible_tags": compatible}))
    return path


#: Pinned in the plugin to the versions this repository's environment runs and tests: the
#: package's own requirements and the gRPC stack the plugin serves on. The rest resolves per
#: interpreter (a dependency may publish different releases for different CPythons).
PINNED = {"pulumi", "pyjwt", "cryptography", "requests", "urllib3", "cel-expr-python", "grpcio",
          "protobuf"}


def constraints(work: Path) -> Path:
    """``PINNED`` at the versions installed here."""
    frozen = subprocess.run([PYTHON, "-m", "pip", "freeze", "--exclude-editable"], check=True,
                            capture_output=True, text=True).stdout.splitlines()
    pins = [line for line in frozen
            if "==" in line and line.split("==")[0].strip().lower() in PINNED]
    path = work / "constraints.txt"
    path.write_text("\n".join(pins) + "\n")
    return path


def plugin_archive(name: str, wheel: Path, out: Path, work: Path, v: str) -> Path:
    """pulumi-resource-skyflow-v<v>-<name>.tar.gz: the PEX at the archive's root."""
    log(f"plugin {name}: PEX for {', '.join(f'cp{a}{b}' for a, b in PYTHONS)}")
    pdir = work / f"plugin-{name}"
    pdir.mkdir()
    argv: list[str | Path] = [
        PYTHON, "-m", "pex", wheel, "--constraints", constraints(work),
        "--exclude", "debugpy",  # a pulumi dependency only its debugger attach uses
        "--pip-version", "26.1", "--resolver-version", "pip-2020-resolver",
        "--sh-boot", "--venv",
        "-e", "skyflow_provider.native.server:main", "-o", pdir / PLUGIN,
    ]
    for py in PYTHONS:
        argv += ["--complete-platform",
                 complete_platform(name, py, work / f"{name}-cp{py[0]}{py[1]}.json")]
    run(*argv)
    archive = out / f"{PLUGIN}-v{v}-{name}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tar.gettarinfo(pdir / PLUGIN, arcname=PLUGIN)
        info.mode, info.uid, info.gid, info.uname, info.gname = 0o755, 0, 0, "", ""
        info.mtime = 0
        with (pdir / PLUGIN).open("rb") as fh:
            tar.addfile(info, fh)
    return archive


# ----- Node.js and Go ----------------------------------------------------------------------------
def npm_package(out: Path) -> None:
    """npm pack of sdk/nodejs: prepack compiles it; main/types/files pick the compiled files."""
    if shutil.which("npm") is None:
        raise SystemExit("dist: npm not found (the Node.js SDK is packed with npm)")
    log("@skyflow-pulumi/skyflow: npm pack")
    sdk = ROOT / "sdk" / "nodejs"
    run("npm", "install", "--no-audit", "--no-fund", "--loglevel=error", cwd=sdk)
    run("npm", "pack", "--pack-destination", out.resolve(), "--loglevel=error", cwd=sdk)


def go_module(out: Path) -> None:
    """The Go SDK module as a folder (go.mod, go.sum, skyflow/): what a `replace` points at now
    and what the tag sdk/go/v<version> will hold."""
    log("Go SDK: module folder sdk-go/")
    shutil.copytree(ROOT / "sdk" / "go", out / "sdk-go")


def checksums(out: Path) -> None:
    lines = []
    for path in sorted(p for p in out.rglob("*") if p.is_file() and p.name != "SHA256SUMS"):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{digest}  {path.relative_to(out)}")
    (out / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--platform", action="append", choices=sorted(PLATFORMS),
                        help="plugin platform (repeatable; default: $PLUGIN_PLATFORMS or the "
                             "host's)")
    args = parser.parse_args(argv)
    platforms = args.platform or os.environ.get("PLUGIN_PLATFORMS", "").split() \
        or [host_platform()]
    unknown = sorted(set(platforms) - set(PLATFORMS))
    if unknown:
        parser.error(f"unknown platform {', '.join(unknown)}; use {', '.join(PLATFORMS)}")
    out: Path = args.out.resolve()
    v = version()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="skyflow-dist-") as tmp:
        work = Path(tmp)
        wheel = python_package(out)
        python_sdk(out, work)
        for name in platforms:
            plugin_archive(name, wheel, out, work, v)
        npm_package(out)
        go_module(out)
    checksums(out)
    for path in sorted(out.iterdir()):
        log(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
