"""Run the real Pulumi CLI against a program directory, for end-to-end tests.

Every project gets its own file backend (``file://<work>/backend``), its own ``PULUMI_HOME`` and
the passphrase secrets provider, so tests never share state and never touch the network. All CLI
output is captured and kept in :attr:`PulumiProject.captured`, so secret-scanning tests can search
everything the CLI printed.

The CLI is found through ``PULUMI_BIN_DIR`` (exported by ``scripts/env.sh``) or ``PATH``. Tests
that need it call :func:`require_pulumi`, which skips when neither has one, naming the install
step, and fails instead under ``CI=true`` (tests/helpers/prerequisites.py); ``make test`` and
``.ci/run`` always build it first (scripts/setup.sh -> scripts/build-pulumi.sh). Example::

    proj = PulumiProject(FIXTURE_DIR, tmp_path)
    proj.stack_init("test")
    proj.config_set("skyflow:credentials", text, secret=True)
    proj.up()
    assert proj.outputs()["credentials"] == "[secret]"
    proj.destroy()
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
REPO_VENV = REPO_ROOT / "venv"
DEFAULT_TIMEOUT = 600.0

# Environment variables from the caller that must not leak into a test project.
_SCRUBBED_ENV = (
    "PULUMI_ACCESS_TOKEN",
    "PULUMI_BACKEND_URL",
    "PULUMI_CONFIG_PASSPHRASE",
    "PULUMI_CONFIG_PASSPHRASE_FILE",
    "PULUMI_HOME",
    "PULUMI_STACK",
    "PULUMI_DEBUG_LANGUAGES",
    "PULUMI_DEBUG_PROVIDERS",
    "VIRTUAL_ENV",
)


def find_pulumi() -> str | None:
    """The ``pulumi`` executable: ``$PULUMI_BIN_DIR/pulumi`` first, else the one on PATH."""
    bin_dir = os.environ.get("PULUMI_BIN_DIR")
    if bin_dir:
        candidate = Path(bin_dir) / "pulumi"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("pulumi")


def require_pulumi() -> str:
    """The CLI path; without one the calling test skips, or fails under CI=true."""
    from tests.helpers.prerequisites import INSTALL_PULUMI, missing

    return find_pulumi() or missing("the pulumi CLI (neither $PULUMI_BIN_DIR nor PATH has it)",
                                    INSTALL_PULUMI)


@dataclass(frozen=True)
class Result:
    """One CLI invocation. ``args`` never contains secret values (they go through stdin)."""

    args: tuple[str, ...]
    stdout: str
    stderr: str
    returncode: int

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class PulumiCommandError(RuntimeError):
    def __init__(self, result: Result):
        self.result = result
        super().__init__(
            f"`pulumi {' '.join(result.args)}` exited with {result.returncode}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
        )


@dataclass
class PulumiProject:
    """A Pulumi program copied into ``work_dir`` and run with the real CLI.

    * ``program_dir`` must hold ``Pulumi.yaml`` and the program. It is copied to
      ``work_dir/program`` (so ``Pulumi.<stack>.yaml`` lands in the copy), and the copy's
      ``runtime.options.virtualenv`` is set to the absolute path of ``venv`` (default: the repo's
      ``venv``), so modules next to ``__main__.py`` stay importable by the dynamic provider.
    * ``work_dir/backend`` is the file backend, ``work_dir/pulumi-home`` is ``PULUMI_HOME``.
    * ``env`` is layered over a scrubbed copy of ``os.environ``.
    """

    program_dir: Path
    work_dir: Path
    passphrase: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    venv: Path | None = REPO_VENV
    pulumi: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    stack: str | None = None
    captured: list[Result] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.program_dir = Path(self.program_dir)
        self.work_dir = Path(self.work_dir)
        self.pulumi = self.pulumi or require_pulumi()
        self.backend_dir = self.work_dir / "backend"
        self.home_dir = self.work_dir / "pulumi-home"
        self.dir = self.work_dir / "program"
        for d in (self.backend_dir, self.home_dir):
            d.mkdir(parents=True, exist_ok=True)
        if not self.dir.exists():
            shutil.copytree(
                self.program_dir,
                self.dir,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "Pulumi.*.yaml"),
            )
            if self.venv is not None:
                self._point_at_venv(Path(self.venv).resolve())

    # ---- setup -------------------------------------------------------------------------------

    def _point_at_venv(self, venv: Path) -> None:
        path = self.dir / "Pulumi.yaml"
        project = yaml.safe_load(path.read_text())
        runtime = project.get("runtime")
        if isinstance(runtime, str):
            runtime = {"name": runtime}
        runtime.setdefault("options", {})["virtualenv"] = str(venv)
        project["runtime"] = runtime
        path.write_text(yaml.safe_dump(project, sort_keys=False))

    @property
    def bin_dir(self) -> Path:
        assert self.pulumi is not None
        return Path(self.pulumi).resolve().parent

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        path = [str(self.bin_dir)]
        if self.venv is not None:
            path.append(str(Path(self.venv) / "bin"))
        env["PATH"] = os.pathsep.join(path + [env.get("PATH", "")])
        env.update(
            {
                "PULUMI_HOME": str(self.home_dir),
                "PULUMI_BACKEND_URL": f"file://{self.backend_dir}",
                "PULUMI_CONFIG_PASSPHRASE": self.passphrase,
                "PULUMI_SKIP_UPDATE_CHECK": "true",
                "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
                "PULUMI_SKIP_CONFIRMATIONS": "true",
                "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
                "NO_COLOR": "1",
            }
        )
        env.update(self.env)
        return env

    # ---- running -----------------------------------------------------------------------------

    def run(
        self,
        *args: str,
        check: bool = True,
        stdin: str | None = None,
        stack: bool = True,
        capture_stdout: bool = True,
        timeout: float | None = None,
    ) -> Result:
        """Run ``pulumi <args> [--stack S] --non-interactive --color never`` in the program copy.

        ``capture_stdout=False`` keeps stdout out of :attr:`captured` (used when it holds
        plaintext secrets on purpose, e.g. ``--show-secrets``); it is still returned.
        """
        argv = list(args)
        if stack and self.stack:
            argv += ["--stack", self.stack]
        argv += ["--non-interactive", "--color", "never"]
        proc = subprocess.run(
            [str(self.pulumi), *argv],
            cwd=self.dir,
            env=self.environment(),
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout or self.timeout,
        )
        result = Result(tuple(argv), proc.stdout, proc.stderr, proc.returncode)
        recorded = result
        if not capture_stdout:
            recorded = Result(
                result.args, "<stdout not captured>", result.stderr, result.returncode
            )
        self.captured.append(recorded)
        if check and result.returncode != 0:
            raise PulumiCommandError(recorded)
        return result

    @staticmethod
    def _flags(flags: Mapping[str, Any]) -> list[str]:
        """``expect_no_changes=True`` -> ``--expect-no-changes``; ``target=[a, b]`` repeats."""
        out: list[str] = []
        for key, value in flags.items():
            name = "--" + key.replace("_", "-")
            if value is True:
                out.append(name)
            elif value is False or value is None:
                continue
            elif isinstance(value, Sequence) and not isinstance(value, str):
                for item in value:
                    out += [name, str(item)]
            else:
                out += [name, str(value)]
        return out

    # ---- commands ----------------------------------------------------------------------------

    def repair_after_kill(self) -> bool:
        """Undo what a SIGKILL of the CLI can do to the file backend; True when it was needed.

        The checkpoint is written to a temp file and renamed (atomic), but gocloud's fileblob
        writes its ``<stack>.json.attrs`` sidecar in place: a kill mid-write leaves it empty and
        every later command fails with "failed to load checkpoint: EOF". fileblob reads a
        missing sidecar as no attributes, so removing the broken one is the repair. A checkpoint
        that does not parse is put back from its own backup (``<stack>.json.bak``).
        """
        repaired = False
        for ckpt in (self.backend_dir / ".pulumi" / "stacks").rglob(f"{self.stack}.json"):
            attrs = ckpt.with_name(ckpt.name + ".attrs")
            if attrs.exists():
                try:
                    json.loads(attrs.read_text())
                except ValueError:
                    attrs.unlink()
                    repaired = True
            backup = ckpt.with_name(ckpt.name + ".bak")
            try:
                json.loads(ckpt.read_text())
            except ValueError:
                if backup.exists():
                    ckpt.write_bytes(backup.read_bytes())
                    repaired = True
        return repaired

    def stack_init(self, name: str) -> Result:
        result = self.run("stack", "init", name, "--secrets-provider", "passphrase", stack=False)
        self.stack = name
        return result

    def stack_select(self, name: str) -> Result:
        result = self.run("stack", "select", name, stack=False)
        self.stack = name
        return result

    def config_set(self, key: str, value: str, secret: bool = False, check: bool = True) -> Result:
        """Set a config value; the value goes through stdin, never onto the command line."""
        return self.run(
            "config", "set", key, "--secret" if secret else "--plaintext", stdin=value, check=check
        )

    def set_config_objects(self, values: Mapping[str, Any]) -> None:
        """Write structured config (lists, maps) into the stack's config file, as a user would
        (``config set`` takes strings only); keys as written, e.g. ``project:services``."""
        path = self.dir / f"Pulumi.{self.stack}.yaml"
        doc = (yaml.safe_load(path.read_text()) if path.exists() else None) or {}
        doc.setdefault("config", {}).update(values)
        path.write_text(yaml.safe_dump(doc, sort_keys=False))

    def up(self, check: bool = True, **flags: Any) -> Result:
        flags.setdefault("skip_preview", True)
        return self.run("up", "--yes", *self._flags(flags), check=check)

    def preview(self, check: bool = True, **flags: Any) -> Result:
        return self.run("preview", *self._flags(flags), check=check)

    def refresh(self, check: bool = True, **flags: Any) -> Result:
        flags.setdefault("skip_preview", True)
        return self.run("refresh", "--yes", *self._flags(flags), check=check)

    def destroy(self, check: bool = True, **flags: Any) -> Result:
        flags.setdefault("skip_preview", True)
        return self.run("destroy", "--yes", *self._flags(flags), check=check)

    def outputs(self, show_secrets: bool = False) -> dict[str, Any]:
        """``pulumi stack output --json``; secrets read ``[secret]`` unless ``show_secrets``.

        With ``show_secrets`` the plaintext output is returned but not kept in ``captured``.
        """
        args = ["stack", "output", "--json"] + (["--show-secrets"] if show_secrets else [])
        result = self.run(*args, capture_stdout=not show_secrets)
        return json.loads(result.stdout or "{}")

    def export(self) -> dict[str, Any]:
        """``pulumi stack export`` (secrets stay encrypted)."""
        return json.loads(self.run("stack", "export").stdout)

    def stack_rm(self, force: bool = False, check: bool = True) -> Result:
        return self.run("stack", "rm", "--yes", *(["--force"] if force else []), check=check)

    # ---- inspection --------------------------------------------------------------------------

    def resources(self) -> list[dict[str, Any]]:
        return self.export().get("deployment", {}).get("resources", []) or []

    def backend_files(self) -> list[Path]:
        return sorted(p for p in self.backend_dir.rglob("*") if p.is_file())

    def captured_texts(self) -> dict[str, str]:
        """Captured output keyed for :func:`tests.helpers.secrets_scan.scan` ``texts=``."""
        texts: dict[str, str] = {}
        for i, r in enumerate(self.captured):
            label = f"#{i} pulumi {' '.join(r.args[:2])}"
            texts[label + " stdout"] = r.stdout
            texts[label + " stderr"] = r.stderr
        return texts
