"""recovery/ledger.py: results handed to the engine are remembered, and after the engine died
only those the stack's checkpoint does not hold are undone (issue 16)."""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path
from typing import Any

import pytest

from skyflow_provider.recovery import ledger, lifeline


@pytest.fixture(autouse=True)
def fresh_ledger(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger, "_made", [])


def checkpoint(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resources": list(resources)}


def test_held_ids_reads_both_forms_and_skips_ciphertexts() -> None:
    dynamic = {"id": "sa1", "outputs": {"key_id": "k1", "previous_key_id": "k0",
                                        "unmanaged_key_ids": ["k9"]}}
    native = {"id": "sa2", "outputs": {"keyId": "k2", "apiKeyId": "a2",
                                       "previousKeyId": {"ciphertext": "x"}}}
    assert ledger.held_ids([dynamic, native]) == {"sa1", "k1", "k0", "k9", "sa2", "k2", "a2"}


def test_sweep_undoes_only_what_the_checkpoint_does_not_hold() -> None:
    undone: list[str] = []
    ledger.delivered(["k1"], lambda: undone.append("k1"), "key k1")
    ledger.delivered(["k2"], lambda: undone.append("k2"), "key k2")

    def gone() -> None:
        raise RuntimeError("404")
    ledger.delivered(["k3"], gone, "key k3")  # already deleted: skipped, the sweep goes on
    assert ledger.sweep(checkpoint({"id": "r", "outputs": {"key_id": "k1"}})) == ["key k2"]
    assert undone == ["k2"]


def fake_cli(tmp_path: Path, body: str, code: int = 0) -> str:
    """A stand-in for the CLI: prints ``body`` for ``stack export``, exits ``code``."""
    script = tmp_path / "pulumi"
    (tmp_path / "out.json").write_text(body)
    script.write_text(f"#!/bin/sh\n[ \"$1 $2\" = 'stack export' ] || exit 9\n"
                      f"cat {tmp_path / 'out.json'}\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_post_mortem_reads_the_stack_and_sweeps(tmp_path: Path) -> None:
    undone: list[str] = []
    ledger.delivered(["k1"], lambda: undone.append("k1"), "key k1")
    ledger.delivered(["k2"], lambda: undone.append("k2"), "key k2")
    body = json.dumps({"version": 3, "deployment": checkpoint({"id": "k1"})})
    ledger.post_mortem((fake_cli(tmp_path, body), ["--stack", "dev"]))
    assert undone == ["k2"]


@pytest.mark.parametrize("body,code", [("not json", 0), ("{}", 0), ('{"deployment": {}}', 1)])
def test_an_unreadable_state_deletes_nothing(tmp_path: Path, body: str, code: int,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PULUMI_BACKEND_URL", "PULUMI_STACK"):  # no checkpoint file to fall back on
        monkeypatch.delenv(name, raising=False)
    undone: list[str] = []
    ledger.delivered(["k1"], lambda: undone.append("k1"), "key k1")
    ledger.post_mortem((fake_cli(tmp_path, body, code), []))
    ledger.post_mortem(None)  # no CLI known
    assert undone == []


def test_stack_args_are_the_clis_own() -> None:
    assert lifeline.stack_args(["pulumi", "up", "--stack", "org/p/dev", "--yes"]) == [
        "--stack", "org/p/dev"]
    assert lifeline.stack_args(["pulumi", "up", "-s", "dev"]) == ["--stack", "dev"]
    assert lifeline.stack_args(["pulumi", "up", "--stack=dev"]) == ["--stack", "dev"]
    assert lifeline.stack_args(["pulumi", "up", "--yes"]) == []


def test_deliver_remembers_only_when_the_state_can_be_read_back(monkeypatch) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    monkeypatch.setattr(lifeline, "_engine", (server.getsockname(), None))
    monkeypatch.setattr(lifeline, "_cli", None)
    ledger.deliver("k1", lambda: None, "key k1")
    assert ledger.made() == []
    monkeypatch.setattr(lifeline, "_cli", "/usr/bin/pulumi")
    ledger.deliver("k1", lambda: None, "key k1")
    assert [m.ids for m in ledger.made()] == [frozenset({"k1"})]
    server.close()
