"""Issue 5's examples (examples/*) run with the real CLI against the emulator.

Each test drives an example the way its README tells a user to, then checks the result on the
emulator itself (request log, authorization answers) and scans every byte it produced for the
generated secrets.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import REPO_ROOT, api_requests
from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.pulumi_cli import PulumiProject
from tests.helpers.secrets_scan import scan

pytestmark = pytest.mark.e2e

EXAMPLES = REPO_ROOT / "examples"
TOKEN_PATH = "/v1/auth/sa/oauth/token"


@pytest.fixture
def reference_program(tmp_path: Path) -> Path:
    """The root program alone (Pulumi.yaml + __main__.py), the producer of credentials."""
    prog = tmp_path / "reference-src"
    prog.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPO_ROOT / name, prog / name)
    return prog


def assert_no_plaintext(secrets: dict[str, str], roots: list[Path],
                        *projects: PulumiProject, texts: dict[str, str] | None = None) -> None:
    """Zero hits for every secret across backend files and everything the CLI printed."""
    captured: dict[str, str] = dict(texts or {})
    for i, proj in enumerate(projects):
        captured.update({f"[{i}] {k}": v for k, v in proj.captured_texts().items()})
    hits = scan(secrets, roots=roots, texts=captured)
    assert hits == [], f"{len(hits)} plaintext secret hits: {hits}"


def token_exchanges(emu: EmulatorProcess, since: int = 0) -> list[dict[str, Any]]:
    return [r for r in api_requests(emu, since) if r.get("template") == TOKEN_PATH]


# --------------------------------------------------------------------------- consumer-stack


def test_consumer_stack_reads_credentials_through_stack_reference(
        emulator, project_factory, reference_program):
    producer = project_factory(reference_program, name="producer", stack="dev")
    producer.config_set("services", json.dumps(
        [{"name": "payments-api", "auth_type": "jwt", "roles": ["VAULT_EDITOR"]}]))
    producer.up()
    produced = producer.outputs(show_secrets=True)
    creds = json.loads(produced["payments-api_credentials"])
    assert producer.outputs()["payments-api_credentials"] == "[secret]"

    # The consumer shares the producer's backend and passphrase (one state store per team).
    consumer = project_factory(
        EXAMPLES / "consumer-stack", name="consumer", stack="dev",
        passphrase=producer.passphrase,
        env={"PULUMI_BACKEND_URL": f"file://{producer.backend_dir}"},
    )
    before = len(api_requests(emulator))
    consumer.preview()
    consumer.up()

    # The token came from the emulator for payments-api (preview mints one too: it fails early
    # when the credentials are revoked), and only its expiry left the program.
    minted = [r for r in token_exchanges(emulator, before) if r["subject"] == creds["clientID"]]
    assert len(minted) >= 2 and all(r["status"] == 200 for r in minted), minted
    out = consumer.outputs()
    assert set(out) == {"client_id", "service_config", "token_expires_at"}, out
    assert out["client_id"] == creds["clientID"]
    assert out["service_config"] == "[secret]"
    expires = datetime.strptime(out["token_expires_at"], "%Y-%m-%dT%H:%M:%S%z").timestamp()
    assert 3000 < expires - time.time() <= 3600 + 60, out["token_expires_at"]

    # The credentials arrived intact and stay encrypted in the consumer's state.
    config = json.loads(consumer.outputs(show_secrets=True)["service_config"])
    assert config["clientID"] == creds["clientID"]
    assert config["credentials"] == creds
    exported = consumer.export()
    outputs = next(r for r in exported["deployment"]["resources"]
                   if r["type"] == "pulumi:pulumi:Stack")["outputs"]
    assert "4dabf18193072939515e22adb298388d" in json.dumps(outputs["service_config"]), outputs

    consumer.destroy()
    producer.destroy()
    assert_no_plaintext({"payments-api private key": creds["privateKey"]},
                        [producer.backend_dir, consumer.backend_dir, consumer.home_dir,
                         producer.dir, consumer.dir],
                        producer, consumer)


# --------------------------------------------------------------------------- api-key-service

VIEWER_PERMISSIONS = {"vault.read", "role.read", "policy.read", "record.read"}


def management_answers(emu: EmulatorProcess, bearer: str) -> dict[str, int]:
    """Status codes of a few management calls made with ``bearer`` (token or API key)."""
    s, url = emu.session(), emu.url
    headers = {"Authorization": f"Bearer {bearer}", "X-Skyflow-Account-ID": emu.account_id}
    vault = {"resource.ID": emu.vault_id, "resource.type": "VAULT"}
    return {
        "list vault roles (role.read)": s.get(f"{url}/v1/roles", params=vault,
                                              headers=headers, timeout=30).status_code,
        "list vault policies (policy.read)": s.get(f"{url}/v1/policies", params=vault,
                                                   headers=headers, timeout=30).status_code,
        "create vault role (role.create)": s.post(
            f"{url}/v1/roles", headers=headers, timeout=30,
            json={"resource": {"ID": emu.vault_id, "type": "VAULT"},
                  "definition": {"name": "not-allowed", "permissions": ["vault.read"]}},
        ).status_code,
        "list service accounts (serviceAccount.read)": s.get(
            f"{url}/v1/serviceAccounts", headers=headers, timeout=30).status_code,
    }


VIEWER_ANSWERS = {
    "list vault roles (role.read)": 200,
    "list vault policies (policy.read)": 200,
    "create vault role (role.create)": 403,
    "list service accounts (serviceAccount.read)": 403,
}


def member_permissions(emu: EmulatorProcess, member_id: str) -> set[str]:
    r = emu.session().get(f"{emu.url}/v1/members/{member_id}/permissions", timeout=30,
                          headers=emu.headers(), params={"member.type": "SERVICE_ACCOUNT"})
    r.raise_for_status()
    return set(r.json()["permissions"])


def test_api_key_service_keys_act_exactly_per_their_role(emulator, project_factory):
    proj = project_factory(EXAMPLES / "api-key-service", name="api-key-service")
    proj.up()
    masked = proj.outputs()
    assert masked["api_key"] == "[secret]" and masked["second_api_key"] == "[secret]", masked
    outs = proj.outputs(show_secrets=True)
    keys = {"first api key": outs["api_key"], "second api key": outs["second_api_key"]}
    assert outs["api_key_id"] != outs["second_api_key_id"]

    # The emulator grants the account exactly VAULT_VIEWER, and both keys act with exactly that:
    # vault reads pass, a vault write and an account-level read are refused.
    assert member_permissions(emulator, outs["client_id"]) == VIEWER_PERMISSIONS
    for label, key in keys.items():
        assert management_answers(emulator, key) == VIEWER_ANSWERS, label
    logged = [r for r in api_requests(emulator) if r.get("subject") == outs["client_id"]]
    assert len(logged) == 2 * len(VIEWER_ANSWERS), logged  # the calls ran as this account

    # Rotation: a new keepers value replaces the second key; the old one stops working at once.
    proj.config_set("keyRotation", "2")
    proj.up()
    rotated = proj.outputs(show_secrets=True)
    assert rotated["second_api_key_id"] != outs["second_api_key_id"]
    assert rotated["api_key"] == outs["api_key"]
    keys["rotated api key"] = rotated["second_api_key"]
    assert management_answers(emulator, rotated["second_api_key"]) == VIEWER_ANSWERS
    assert set(management_answers(emulator, outs["second_api_key"]).values()) == {401}

    proj.destroy()
    for label, key in keys.items():
        assert set(management_answers(emulator, key).values()) == {401}, label
    assert_no_plaintext(keys, [proj.backend_dir, proj.dir, proj.home_dir,
                               emulator.data_dir / "requests.jsonl"], proj)
