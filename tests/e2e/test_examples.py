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
