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

from tests.e2e.conftest import list_service_accounts, program_for, type_token
from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.pulumi_cli import PulumiProject
from tests.helpers.secrets_scan import assert_no_secret_hits

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


def assert_no_plaintext(proj: PulumiProject, emu: EmulatorProcess, secrets: dict[str, str],
                        min_secrets: int) -> None:
    assert_no_secret_hits(secrets, min_secrets=min_secrets,
                          roots=[proj.backend_dir, proj.dir, proj.home_dir,
                                 emu.data_dir / "requests.jsonl"],
                          texts=proj.captured_texts())


def private_key(creds_text: str) -> str:
    return str(json.loads(creds_text)["privateKey"])


# ----- overlap rotation ----------------------------------------------------------------------

def test_overlap_rotation_keeps_old_credentials_valid_for_the_window(emulator, project_factory,
                                                                     form):
    t0 = datetime.now(timezone.utc)
    proj = project_factory(program_for("rotation", form))
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
    state = resource(proj, type_token("ServiceAccount", form), "svc")["outputs"]
    if form == "native":
        state = {k: state[c] for k, c in (("previous_credentials", "previousCredentials"),
                                          ("previous_private_key", "previousPrivateKey"),
                                          ("credentials", "credentials"))}
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
    assert "overlap window has passed" in preview.output, preview.output  # says why
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
    for n, outs in ((3, third), (4, fourth)):
        secrets.update({f"sa key {n}": private_key(outs["credentials"]),
                        f"extra key {n}": private_key(outs["key_credentials"])})
    assert_no_plaintext(proj, emulator, secrets, min_secrets=8)


# ----- rotate_after_days and expiry ----------------------------------------------------------

def test_rotate_after_days_rotates_when_due_and_warns_before_expiry(emulator, project_factory):
    t0 = datetime.now(timezone.utc)
    proj = project_factory("rotation")
    set_clock(proj, t0)
    proj.config_set("name", "rot-due")
    proj.config_set("rotateAfterDays", "30")
    proj.up()
    first = secret_outputs(proj)
    assert first["valid_before"] and first["next_rotation_at"]
    assert abs((datetime.fromisoformat(first["next_rotation_at"].replace("Z", "+00:00"))
                - (t0 + timedelta(days=30))).total_seconds()) < 120

    # Not due yet: nothing to do.
    set_clock(proj, t0 + timedelta(days=29))
    proj.up(expect_no_changes=True)
    assert jwt_works(emulator, first["credentials"])

    # Due: the preview says so, the up rotates (overlap 24 h by default).
    set_clock(proj, t0 + timedelta(days=31))
    preview = proj.preview()
    assert "1 to update" in preview.stdout, preview.stdout
    assert "more than rotate_after_days=30 days ago" in preview.output, preview.output
    proj.up()
    second = secret_outputs(proj)
    assert second["key_id"] != first["key_id"] and second["previous_key_id"] == first["key_id"]
    assert jwt_works(emulator, second["credentials"]) and jwt_works(emulator,
                                                                    first["credentials"])
    # Right after: not due again (the schedule restarts from the rotation).
    proj.up(expect_no_changes=True)

    # Close to the key's expiry (Skyflow: one year): preview warns, naming the key and the date.
    set_clock(proj, t0 + timedelta(days=345))
    preview = proj.preview()
    assert f"key {second['key_id']}" in preview.output and "expires" in preview.output, \
        preview.output
    proj.up()
    third = secret_outputs(proj)
    assert third["key_id"] not in (first["key_id"], second["key_id"])
    assert not jwt_works(emulator, first["credentials"])  # its window ended with this rotation
    assert jwt_works(emulator, third["credentials"]) and jwt_works(emulator,
                                                                   second["credentials"])
    proj.destroy()
    assert_no_plaintext(proj, emulator, {
        f"key {i}": private_key(o["credentials"]) for i, o in enumerate((first, second, third))},
        min_secrets=3)


# ----- API keys --------------------------------------------------------------------------------

def test_api_key_rotation_with_and_without_overlap(emulator, project_factory):
    t0 = datetime.now(timezone.utc)
    proj = project_factory("rotation")
    set_clock(proj, t0)
    proj.config_set("apiName", "rot-batch")
    proj.config_set("apiTrigger", "1")
    proj.up()
    first = secret_outputs(proj)
    sa_id = first["api_client_id"]
    assert api_key_works(emulator, first["api_key"])

    # overlap_hours=0: Skyflow's rotate endpoint. Same key id, new secret, old one refused.
    proj.config_set("apiOverlapHours", "0")
    proj.config_set("apiTrigger", "2")
    before = len(emulator.read_request_log())
    result = proj.up()
    assert "1 updated" in result.stdout and "replaced" not in result.stdout, result.stdout
    second = secret_outputs(proj)
    assert second["api_key_id"] == first["api_key_id"]
    assert second["api_key"] != first["api_key"]
    assert second.get("api_previous_key_id") is None
    assert api_key_works(emulator, second["api_key"])
    assert not api_key_works(emulator, first["api_key"])
    templates = [r["template"] for r in emulator.read_request_log()[before:]]
    assert "/v1/serviceAccounts/{ID}/apikey/{keyID}/rotate" in templates, templates

    # Default overlap: a second API key first, the old one kept (and secret) for 24 h.
    proj.config_set("apiOverlapHours", "24")
    proj.config_set("apiTrigger", "3")
    set_clock(proj, t0 + timedelta(hours=1))
    proj.up()
    third = secret_outputs(proj)
    assert third["api_key_id"] != second["api_key_id"]
    assert third["api_previous_key_id"] == second["api_key_id"]
    assert third["api_previous_api_key"] == second["api_key"]
    assert proj.outputs()["api_previous_api_key"] == "[secret]"
    assert api_key_works(emulator, third["api_key"]) and api_key_works(emulator,
                                                                     second["api_key"])
    set_clock(proj, t0 + timedelta(hours=26))
    proj.up()
    fourth = secret_outputs(proj)
    assert fourth.get("api_previous_key_id") is None
    assert not api_key_works(emulator, second["api_key"])
    assert api_key_works(emulator, fourth["api_key"])
    assert third["api_key_id"] in key_ids(emulator, sa_id, "apikey")
    proj.destroy()
    assert_no_plaintext(proj, emulator, {f"api key {i}": o["api_key"]
                                         for i, o in enumerate((first, second, third, fourth))},
                        min_secrets=4)


# ----- adoption --------------------------------------------------------------------------------

def create_outside_pulumi(emu: EmulatorProcess, name: str) -> dict[str, Any]:
    """A JWT account made by hand (as in Studio), plus a second key: what adoption finds."""
    s = emu.session()
    r = s.post(f"{emu.url}/v1/serviceAccounts", headers=emu.headers(), timeout=30,
               json={"serviceAccount": {"name": name, "description": "hand-made"}})
    r.raise_for_status()
    creds = r.json()
    r = s.post(f"{emu.url}/v1/serviceAccounts/{creds['clientID']}/keys", headers=emu.headers(),
               timeout=30)
    r.raise_for_status()
    return {"creds": creds, "extra": r.json()}


def test_adopt_mints_a_fresh_key_then_exclusive_keys_deletes_the_rest(emulator, project_factory):
    made = create_outside_pulumi(emulator, "rot-legacy")
    sa_id = made["creds"]["clientID"]
    hand_keys = {made["creds"]["keyID"], made["extra"]["keyID"]}
    accounts_before = {s["ID"] for s in list_service_accounts(emulator)}
    proj = project_factory("rotation")
    proj.config_set("name", "rot-legacy")
    proj.config_set("adoptId", sa_id)
    result = proj.up()
    assert "2 created" in result.stdout, result.stdout  # the stack and the adopted account
    # Adopted, not recreated: same account, no new one.
    assert {s["ID"] for s in list_service_accounts(emulator)} == accounts_before
    outs = secret_outputs(proj)
    assert outs["client_id"] == sa_id and resource(proj, SA_TYPE, "svc")["id"] == sa_id
    assert outs["key_id"] not in hand_keys and jwt_works(emulator, outs["credentials"])
    # The hand-made keys still work and are reported as unmanaged.
    state = resource(proj, SA_TYPE, "svc")["outputs"]
    assert sorted(state["unmanaged_key_ids"]) == sorted(hand_keys)
    assert "does not manage" in result.output and made["extra"]["keyID"] in result.output
    assert jwt_works(emulator, json.dumps(made["creds"]))
    proj.up(expect_no_changes=True)

    # exclusive_keys: the next up deletes every key the stack does not hold.
    proj.config_set("exclusiveKeys", "true")
    proj.up()
    assert key_ids(emulator, sa_id) == {outs["key_id"]}
    assert not jwt_works(emulator, json.dumps(made["creds"]))
    assert jwt_works(emulator, outs["credentials"])
    assert resource(proj, SA_TYPE, "svc")["outputs"]["unmanaged_key_ids"] == []
    proj.up(expect_no_changes=True)

    proj.destroy()  # adopted means managed: destroy deletes it
    assert sa_id not in {s["ID"] for s in list_service_accounts(emulator)}
    assert_no_plaintext(proj, emulator, {"minted": private_key(outs["credentials"]),
                                         "hand-made key": made["creds"]["privateKey"],
                                         "hand-made extra key": made["extra"]["privateKey"]},
                        min_secrets=3)


def test_adopt_with_exclusive_keys_at_once(emulator, project_factory):
    made = create_outside_pulumi(emulator, "rot-legacy2")
    sa_id = made["creds"]["clientID"]
    proj = project_factory("rotation")
    proj.config_set("name", "rot-legacy2")
    proj.config_set("adoptId", sa_id)
    proj.config_set("exclusiveKeys", "true")
    proj.up()
    outs = secret_outputs(proj)
    assert key_ids(emulator, sa_id) == {outs["key_id"]}
    assert jwt_works(emulator, outs["credentials"])
    assert not jwt_works(emulator, json.dumps(made["creds"]))
    proj.destroy()


# ----- drift -------------------------------------------------------------------------------------

def test_refresh_reports_unmanaged_keys_and_up_recreates_a_deleted_key(emulator, project_factory):
    proj = project_factory("rotation")
    proj.config_set("name", "rot-drift")
    proj.up()
    first = secret_outputs(proj)
    sa_id = first["client_id"]

    # A key added outside Pulumi: refresh reports it (state output + a warning), up keeps it.
    r = emulator.session().post(f"{emulator.url}/v1/serviceAccounts/{sa_id}/keys",
                                headers=emulator.headers(), timeout=30)
    r.raise_for_status()
    stray = r.json()
    refreshed = proj.refresh()
    assert stray["keyID"] in refreshed.output and "does not manage" in refreshed.output, \
        refreshed.output
    assert resource(proj, SA_TYPE, "svc")["outputs"]["unmanaged_key_ids"] == [stray["keyID"]]
    assert jwt_works(emulator, first["credentials"])

    # The managed key deleted outside Pulumi: refresh notices, the next up mints a new one.
    r = emulator.session().delete(
        f"{emulator.url}/v1/serviceAccounts/{sa_id}/keys/{first['key_id']}",
        headers=emulator.headers(), timeout=30)
    r.raise_for_status()
    refreshed = proj.refresh()
    assert first["key_id"] in refreshed.output and "deleted outside Pulumi" in refreshed.output
    assert resource(proj, SA_TYPE, "svc")["outputs"].get("key_id") in (None, "")
    preview = proj.preview()
    assert "1 to update" in preview.stdout, preview.stdout
    proj.up()
    second = secret_outputs(proj)
    assert second["client_id"] == sa_id and second["key_id"] != first["key_id"]
    assert jwt_works(emulator, second["credentials"])
    assert not jwt_works(emulator, first["credentials"])
    assert key_ids(emulator, sa_id) == {second["key_id"], stray["keyID"]}
    proj.up(expect_no_changes=True)
    proj.destroy()
    assert_no_plaintext(proj, emulator, {"first": private_key(first["credentials"]),
                                         "second": private_key(second["credentials"]),
                                         "stray": stray["privateKey"]}, min_secrets=3)


def test_adopt_role_keeps_its_id_and_applies_the_declared_definition(emulator, project_factory):
    s = emulator.session()
    r = s.post(f"{emulator.url}/v1/roles", headers=emulator.headers(), timeout=30,
               json={"resource": {"ID": emulator.vault_id, "type": "VAULT"},
                     "roleDefinition": {"name": "rot-analyst", "description": "hand-made",
                                        "permissions": [], "type": "CUSTOM"}})
    r.raise_for_status()
    role_id = r.json()["ID"]
    proj = project_factory("rotation")
    proj.config_set("roleName", "rot-analyst")
    proj.config_set("roleAdoptId", role_id)
    proj.up()
    assert proj.outputs()["role_id"] == role_id
    got = s.get(f"{emulator.url}/v1/roles/{role_id}", headers=emulator.headers(), timeout=30)
    got.raise_for_status()
    definition = got.json()["role"]["definition"]
    assert definition["description"] == "managed by pulumi"
    assert definition["permissions"] == ["vault.read"]
    proj.up(expect_no_changes=True)
    proj.destroy()
    gone = s.get(f"{emulator.url}/v1/roles/{role_id}", headers=emulator.headers(), timeout=30)
    assert gone.status_code == 404
