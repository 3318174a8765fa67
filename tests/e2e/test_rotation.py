"""Issue 6 end to end: key rotation with an overlap window, API-key rotation, adoption and drift.

Real CLI, real emulator, and the provider's clock moved by ``SKYFLOW_PULUMI_NOW``. Every claim
is checked on the emulator itself: a credential "works" when the emulator exchanges it for a
bearer token (JWT) or accepts it as a bearer (API key), and after **every** up at least one
credential of each managed account works. Everything the CLI wrote is scanned for the keys.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.e2e.conftest import list_service_accounts
from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.pulumi_cli import PulumiProject
from tests.helpers.secrets_scan import scan

pytestmark = pytest.mark.e2e

NOW_ENV = "SKYFLOW_PULUMI_NOW"
SA_TYPE = "pulumi-python:dynamic/skyflow:ServiceAccount"
KEY_TYPE = "pulumi-python:dynamic/skyflow:ServiceAccountKey"
API_KEY_TYPE = "pulumi-python:dynamic/skyflow:ApiKey"


# ----- helpers -----------------------------------------------------------------------------------

def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def set_clock(proj: PulumiProject, t: datetime) -> None:
    """The provider process inherits the CLI's environment: this is its clock."""
    proj.env = {**proj.env, NOW_ENV: iso(t)}


def jwt_works(emu: EmulatorProcess, creds_text: str | None) -> bool:
    """The emulator exchanges this credentials.json for a bearer token."""
    if not creds_text:
        return False
    r = emu.exchange(emu.assertion(json.loads(creds_text)))
    if r.status_code == 200:
        return True
    assert r.status_code in (401, 403), r.text
    return False


def api_key_works(emu: EmulatorProcess, api_key: str | None) -> bool:
    """The emulator authenticates a call made with this API key (403 = authenticated, no role)."""
    if not api_key:
        return False
    r = emu.session().get(f"{emu.url}/v1/roles", timeout=30,
                          params={"resource.ID": emu.vault_id, "resource.type": "VAULT"},
                          headers={"Authorization": f"Bearer {api_key}",
                                   "X-Skyflow-Account-ID": emu.account_id})
    return r.status_code != 401


def key_ids(emu: EmulatorProcess, sa_id: str, kind: str = "keys") -> set[str]:
    """The account's keys (``keys``) or API keys (``apikey``), from the emulator's API."""
    r = emu.session().get(f"{emu.url}/v1/serviceAccounts/{sa_id}/{kind}",
                          headers=emu.headers(), timeout=30)
    r.raise_for_status()
    items = r.json().get("keys" if kind == "keys" else "apiKeys") or []
    return {k["keyID"] for k in items}


def secret_outputs(proj: PulumiProject) -> dict[str, Any]:
    return proj.outputs(show_secrets=True)


def resource(proj: PulumiProject, typ: str, name: str) -> dict[str, Any]:
    matches = [r for r in proj.resources() if r["type"] == typ and r["urn"].endswith("::" + name)]
    assert len(matches) == 1, [r["urn"] for r in proj.resources()]
    return matches[0]


def assert_no_plaintext(proj: PulumiProject, emu: EmulatorProcess, secrets: dict[str, str]
                        ) -> None:
    hits = scan(secrets, roots=[proj.backend_dir, proj.dir, proj.home_dir,
                                emu.data_dir / "requests.jsonl"],
                texts=proj.captured_texts())
    assert hits == [], f"{len(hits)} plaintext secret hits: {hits}"


def private_key(creds_text: str) -> str:
    return str(json.loads(creds_text)["privateKey"])


# ----- overlap rotation ----------------------------------------------------------------------

def test_overlap_rotation_keeps_old_credentials_valid_for_the_window(emulator, project_factory):
    t0 = datetime.now(timezone.utc)
    proj = project_factory("rotation")
    set_clock(proj, t0)
    proj.config_set("name", "rot-payments")
    proj.config_set("trigger", "1")
    proj.config_set("keyTrigger", "1")
    proj.config_set("keyOverlapHours", "48")
    proj.up()
    first = secret_outputs(proj)
    sa_id = first["client_id"]
    assert jwt_works(emulator, first["credentials"]) and jwt_works(emulator,
                                                                   first["key_credentials"])
    assert first.get("previous_key_id") is None and first.get("previous_credentials") is None
    urns = {r["urn"]: r.get("id") for r in proj.resources()}
    secrets = {"sa key 1": private_key(first["credentials"]),
               "extra key 1": private_key(first["key_credentials"])}

    # Rotate both: an in-place update of the same resources (same URN, same id).
    set_clock(proj, t0 + timedelta(hours=1))
    proj.config_set("trigger", "2")
    proj.config_set("keyTrigger", "2")
    result = proj.up()
    assert "2 updated" in result.stdout and "replaced" not in result.stdout, result.stdout
    assert {r["urn"]: r.get("id") for r in proj.resources()} == urns
    second = secret_outputs(proj)
    secrets.update({"sa key 2": private_key(second["credentials"]),
                    "extra key 2": private_key(second["key_credentials"])})
    assert second["key_id"] != first["key_id"]
    assert second["previous_key_id"] == first["key_id"]
    assert second["previous_credentials"] == first["credentials"]
    assert second["key_previous_key_id"] == first["key_key_id"]
    assert second["key_previous_credentials"] == first["key_credentials"]
    # New credentials work from the first moment; the old ones still do.
    for label in ("credentials", "key_credentials"):
        assert jwt_works(emulator, second[label]), label
        assert jwt_works(emulator, first[label]), label
    assert key_ids(emulator, sa_id) == {first["key_id"], second["key_id"], first["key_key_id"],
                                        second["key_key_id"]}
    # Previous credentials are exactly as secret as the current ones.
    masked = proj.outputs()
    for label in ("credentials", "previous_credentials", "key_credentials",
                  "key_previous_credentials"):
        assert masked[label] == "[secret]", (label, masked[label])
    state = resource(proj, SA_TYPE, "svc")["outputs"]
    for label in ("previous_credentials", "previous_private_key", "credentials"):
        assert set(state[label]) == {"4dabf18193072939515e22adb298388d", "ciphertext"}, label

    # Inside the SA's 24 h window nothing happens and the old key keeps working.
    set_clock(proj, t0 + timedelta(hours=24, minutes=50))
    proj.up(expect_no_changes=True)
    assert jwt_works(emulator, first["credentials"])

    # After it: the SA's previous key is deleted (the extra key has 48 h and stays).
    set_clock(proj, t0 + timedelta(hours=25, minutes=5))
    preview = proj.preview()
    assert "1 to update" in preview.stdout, preview.stdout
    result = proj.up()
    assert "1 updated" in result.stdout, result.stdout
    third = secret_outputs(proj)
    assert third.get("previous_key_id") is None and third.get("previous_credentials") is None
    assert third["credentials"] == second["credentials"]
    assert not jwt_works(emulator, first["credentials"])
    assert jwt_works(emulator, third["credentials"])
    assert jwt_works(emulator, first["key_credentials"])  # its 48 h window is still open

    set_clock(proj, t0 + timedelta(hours=49, minutes=5))
    proj.up()
    fourth = secret_outputs(proj)
    assert fourth.get("key_previous_key_id") is None
    assert not jwt_works(emulator, first["key_credentials"])
    assert jwt_works(emulator, fourth["key_credentials"]) and jwt_works(emulator,
                                                                       fourth["credentials"])
    assert key_ids(emulator, sa_id) == {second["key_id"], second["key_key_id"]}
    proj.up(expect_no_changes=True)

    proj.destroy()
    assert sa_id not in {s["ID"] for s in list_service_accounts(emulator)}
    assert_no_plaintext(proj, emulator, secrets)
