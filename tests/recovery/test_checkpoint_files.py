"""recovery/checkpoint.py: when a SIGKILLed CLI left the file backend's metadata sidecar empty,
``pulumi stack export`` fails ("failed to load checkpoint: EOF") though the checkpoint is whole;
the post-mortem then reads the checkpoint file itself, so it still deletes the key a killed
rotation minted (CI's failed ``test_killed_rotation_heals[False-False]``)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from skyflow_provider.recovery import checkpoint, ledger
from tests.helpers.pulumi_cli import require_pulumi

KEY_HELD, KEY_MINTED = "a" * 32, "b" * 32


def deployment(*key_ids: str) -> dict[str, Any]:
    return {"manifest": {"time": "2026-12-07T00:00:00Z", "magic": "", "version": ""},
            "resources": [{"urn": "urn:pulumi:dev::proj::pulumi:pulumi:Stack::proj-dev",
                           "custom": False, "type": "pulumi:pulumi:Stack"},
                          *({"urn": f"urn:pulumi:dev::proj::pulumi-python:dynamic:Resource::k{i}",
                             "custom": True, "id": k, "type": "pulumi-python:dynamic:Resource",
                             "outputs": {"key_id": k}} for i, k in enumerate(key_ids))]}


@pytest.fixture
def backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real file backend with stack ``proj/dev`` holding one key, made by the real CLI."""
    pulumi = require_pulumi()
    root, work = tmp_path / "backend", tmp_path / "proj"
    root.mkdir()
    work.mkdir()
    (work / "Pulumi.yaml").write_text("name: proj\nruntime: python\n")
    env = {"PULUMI_BACKEND_URL": f"file://{root}", "PULUMI_CONFIG_PASSPHRASE": "test",
           "PULUMI_HOME": str(tmp_path / "home"), "PULUMI_SKIP_UPDATE_CHECK": "true",
           "PULUMI_PROJECT": "proj"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("PULUMI_STACK", raising=False)
    monkeypatch.chdir(work)
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"version": 3, "deployment": deployment(KEY_HELD)}))
    for args in (["stack", "init", "dev"],
                 ["stack", "import", "--stack", "dev", "--file", str(state)]):
        subprocess.run([pulumi, *args], cwd=work, env=dict(os.environ), capture_output=True,
                       text=True, check=True)
    return root


def break_sidecar(root: Path) -> subprocess.CompletedProcess[str]:
    """What a SIGKILL mid-write leaves: the sidecar empty; proof that the CLI now fails."""
    attrs = root / ".pulumi" / "stacks" / "proj" / "dev.json.attrs"
    assert attrs.is_file()
    attrs.write_text("")
    return subprocess.run([require_pulumi(), "stack", "export", "--stack", "dev"],
                          capture_output=True, text=True, check=False)


def test_the_checkpoint_is_read_from_its_file_when_the_cli_cannot(backend: Path) -> None:
    cli = require_pulumi()
    before = checkpoint.export_state(cli, ["--stack", "dev"])
    assert before is not None and KEY_HELD in checkpoint.held_ids(before["resources"])
    failed = break_sidecar(backend)
    assert failed.returncode != 0 and "failed to load checkpoint" in failed.stderr
    read = checkpoint.export_state(cli, ["--stack", "dev"])
    assert read is not None and KEY_HELD in checkpoint.held_ids(read["resources"])


def test_the_post_mortem_deletes_the_minted_key_through_a_broken_sidecar(
        backend: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger, "_made", [])
    undone: list[str] = []
    ledger.delivered([KEY_HELD], lambda: undone.append(KEY_HELD), "key held")
    ledger.delivered([KEY_MINTED], lambda: undone.append(KEY_MINTED), "key minted")
    break_sidecar(backend)
    ledger.post_mortem((require_pulumi(), ["--stack", "dev"]))
    assert undone == [KEY_MINTED]


def test_a_checkpoint_file_that_does_not_parse_deletes_nothing(
        backend: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger, "_made", [])
    undone: list[str] = []
    ledger.delivered([KEY_MINTED], lambda: undone.append(KEY_MINTED), "key minted")
    break_sidecar(backend)
    (backend / ".pulumi" / "stacks" / "proj" / "dev.json").write_text('{"checkpoint": ')
    ledger.post_mortem((require_pulumi(), ["--stack", "dev"]))
    assert undone == []


# ----- which file, without the CLI ------------------------------------------------------------

def layout(root: Path, rel: str, body: dict[str, Any] | None = None) -> Path:
    path = root / ".pulumi" / "stacks" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps({"version": 3, "checkpoint": {"stack": "x", "latest":
                                                     body or deployment(KEY_HELD)}}).encode()
    path.write_bytes(gzip.compress(data) if rel.endswith(".gz") else data)
    return path


def test_only_the_named_stack_of_the_running_project_is_read(tmp_path: Path) -> None:
    ours = layout(tmp_path, "proj/dev.json")
    layout(tmp_path, "other/dev.json", deployment(KEY_MINTED))
    env = {"PULUMI_BACKEND_URL": f"file://{tmp_path}", "PULUMI_PROJECT": "proj"}
    assert checkpoint.checkpoint_files(["--stack", "dev"], env) == [ours]
    assert checkpoint.checkpoint_files([], {**env, "PULUMI_STACK": "dev"}) == [ours]
    assert checkpoint.checkpoint_files(["--stack", "org/other/dev"], env) == \
        [tmp_path / ".pulumi" / "stacks" / "other" / "dev.json"]
    read = checkpoint.read_file_backend(["--stack", "dev"], env)
    assert read is not None and checkpoint.held_ids(read["resources"]) >= {KEY_HELD}


@pytest.mark.parametrize("env", [
    {"PULUMI_PROJECT": "proj"},  # no backend URL: the CLI's login, not ours to guess
    {"PULUMI_BACKEND_URL": "s3://bucket", "PULUMI_PROJECT": "proj"},
    {"PULUMI_BACKEND_URL": "file://{root}"},  # no project, and no legacy file
])
def test_nothing_is_guessed(tmp_path: Path, env: dict[str, str]) -> None:
    layout(tmp_path, "proj/dev.json")
    env = {k: v.format(root=tmp_path) for k, v in env.items()}
    assert checkpoint.checkpoint_files(["--stack", "dev"], env) == []
    assert checkpoint.checkpoint_files([], {**env, "PULUMI_BACKEND_URL":
                                            f"file://{tmp_path}"}) == []  # stack not named


def test_legacy_and_gzip_layouts(tmp_path: Path) -> None:
    legacy = layout(tmp_path, "dev.json")
    env = {"PULUMI_BACKEND_URL": f"file://{tmp_path}?no_tmp_dir=true"}
    assert checkpoint.checkpoint_files(["--stack", "dev"], env) == [legacy]
    legacy.unlink()
    zipped = layout(tmp_path, "proj/dev.json.gz", deployment(KEY_MINTED))
    env["PULUMI_PROJECT"] = "proj"
    assert checkpoint.checkpoint_files(["--stack", "dev"], env) == [zipped]
    read = checkpoint.read_file_backend(["--stack", "dev"], env)
    assert read is not None and KEY_MINTED in checkpoint.held_ids(read["resources"])
