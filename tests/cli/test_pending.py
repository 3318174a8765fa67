"""skyflow_provider.pending: what a killed `pulumi up` left in Skyflow outside the state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from skyflow_provider.cli import pending
from tests.fakes import FakeClient

T = "pulumi-python:dynamic/skyflow:"


def res(kind: str, urn: str, rid: str | None = None, **inputs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": T + kind, "urn": urn, "inputs": inputs}
    if rid:
        out["id"] = rid
        out["outputs"] = dict(inputs)
    return out


def test_finds_only_objects_of_pending_creates_that_the_state_does_not_hold() -> None:
    c = FakeClient()
    managed = c.create_service_account({"serviceAccount": {"name": "dev-a"}})
    orphan_sa = c.create_service_account({"serviceAccount": {"name": "dev-b"}})
    other = c.create_service_account({"serviceAccount": {"name": "someone-else"}})
    extra_key = c.create_key(managed["clientID"])
    c.keys[extra_key["keyID"]]["saID"] = managed["clientID"]
    c.keys.setdefault(managed["keyID"], {"keyID": managed["keyID"]})["saID"] = managed["clientID"]
    role = c.create_role({"roleDefinition": {"name": "dev-r"},
                          "resource": {"ID": "v1", "type": "VAULT"}})
    deployment = {
        "resources": [
            {**res("ServiceAccount", "urn:a", managed["clientID"], name="dev-a"),
             "outputs": {"key_id": managed["keyID"]}},
        ],
        "pending_operations": [
            {"type": "creating", "resource": res("ServiceAccount", "urn:b", name="dev-b")},
            {"type": "creating", "resource": res("ServiceAccountKey", "urn:k",
                                                 service_account_id=managed["clientID"])},
            {"type": "creating", "resource": res("Role", "urn:r", vault_id="v1", name="dev-r")},
            {"type": "creating", "resource": res("Policy", "urn:p", vault_id="v1",
                                                 name="devNeverMade")},
            {"type": "creating", "resource": res("RoleAssignment", "urn:ra", role_id="x")},
            {"type": "updating", "resource": res("ServiceAccount", "urn:a", name="dev-a")},
        ],
    }
    found = pending.find_orphans(c, deployment)
    assert {(o.kind, o.id) for o in found} == {
        ("service account", orphan_sa["clientID"]), ("key", extra_key["keyID"]),
        ("role", role["ID"])}
    assert other["clientID"] not in {o.id for o in found}
    for o in found:
        pending.delete(c, o)
    assert orphan_sa["clientID"] not in c.sas and role["ID"] not in c.roles
    assert pending.find_orphans(c, deployment) == []


URN = "urn:pulumi:test::unit::pulumi-python:dynamic/skyflow:"  # the fake's tag: pulumi:unit/test


def test_cli_deletes_what_this_stack_made_and_on_request_the_rest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    c = FakeClient()
    ours = c.create_service_account({"serviceAccount": {"name": "dev-b"}})["clientID"]
    c.owner_tag = "pulumi:unit/another-stack"
    theirs = c.create_service_account({"serviceAccount": {"name": "dev-b"}})["clientID"]
    export = tmp_path / "before.json"
    export.write_text(json.dumps({"version": 3, "deployment": {"resources": [],
                      "pending_operations": [{"type": "creating", "resource": res(
                          "ServiceAccount", URN + "ServiceAccount::b", name="dev-b")}]}}))
    import skyflow_provider.api.client as client_mod

    monkeypatch.setattr(client_mod, "ManagementClient", lambda _settings: c)
    monkeypatch.setenv("SKYFLOW_ACCOUNT_ID", "acc1")
    monkeypatch.setenv("SKYFLOW_API_KEY", "sky-ab12C-" + "0123456789abcdef" * 2)
    assert pending.main([str(export)]) == 0
    out = capsys.readouterr().out
    assert "2 object(s)" in out and "pulumi:unit/test" in out
    assert f"{ours} ('dev-b') for pending create {URN}ServiceAccount::b: made by this stack" in out
    assert f"{theirs} ('dev-b') for pending create {URN}ServiceAccount::b: not proved" in out
    assert pending.main([str(export), "--delete"]) == 0
    assert ours not in c.sas and theirs in c.sas
    assert pending.main([str(export), "--delete-unproved"]) == 0
    assert theirs not in c.sas
    (tmp_path / "bad.json").write_text("not json")
    assert pending.main([str(tmp_path / "bad.json")]) == 2


def test_cli_deletes_a_key_by_id(monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    c = FakeClient()
    sa = c.create_service_account({"serviceAccount": {"name": "a"}})["clientID"]
    key = c.create_key(sa)["keyID"]
    api = c.create_service_account({"serviceAccount": {"name": "b"}, "apiKeyEnabled": True})
    ak = c.create_api_key(api["clientID"])["apiKeyID"]
    import skyflow_provider.api.client as client_mod

    monkeypatch.setattr(client_mod, "ManagementClient", lambda _settings: c)
    monkeypatch.setenv("SKYFLOW_ACCOUNT_ID", "acc1")
    monkeypatch.setenv("SKYFLOW_API_KEY", "sky-ab12C-" + "0123456789abcdef" * 2)
    assert pending.main(["--delete-key", f"{sa}/{key}", "--delete-key",
                         f"{api['clientID']}/{ak}"]) == 0
    assert key not in c.keys and ak not in c.api_keys
    assert f"deleted API key {ak}" in capsys.readouterr().out
    assert pending.main(["--delete-key", "no-slash"]) == 1
