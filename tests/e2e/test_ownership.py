"""Issue 22: recovery never deletes or takes over what it cannot prove a run of this stack made.

The real CLI against one emulator for the module (150 ms latency while a run is killed). Every
kill is of every process of the run (the CI runner's kill), and each test first checks that the
kill left what the scenario is about (``kill_until``) before it checks the heal:

* two projects on one account, for a ``ServiceAccountKey`` on a JWT account and an ``ApiKey`` on
  an API-key account: B's key creates killed, B runs again: A's key still works, B holds all it
  declares, the killed run's unheld keys are gone (the audit log proves B's tag minted them);
* two stacks sharing one admin identity and the same names: never taken over, A's objects
  survive B's destroy, A's key keeps working;
* keys made by hand (another identity; the same identity outside any run) survive a killed key
  create on the account;
* the provider's identity may not read the audit log: nothing deleted, every unproved key named
  with the way out (which then works);
* a killed run leaves no process alive 10 s later, the language host included.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import PROGRAMS, REPO_ROOT, api_requests, provider_env
from tests.e2e.test_faults import (
    CREATE_OPS,
    Background,
    _get,
    kill_all_of_session,
    kill_until,
    wait_for,
)
from tests.e2e.test_kill_heal import session_processes
from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.figures import record
from tests.helpers.pulumi_cli import PulumiProject, Result, require_pulumi
from tests.helpers.tracebacks import assert_no_traceback

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

KEYS = 6
LATENCY_MS = 150
KEY_OPS = ("ServiceAccountKey", "ApiKey")


# ----- fixtures: one emulator for the module ----------------------------------------------------

@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    with EmulatorProcess(tmp_path_factory.mktemp("emulator")) as e:
        yield e


Factory = Callable[..., PulumiProject]


@pytest.fixture
def project(emu: EmulatorProcess, tmp_path: Path) -> Factory:
    """``project(name, stack, env=..., **config)``: the owners program as project ``name``."""
    require_pulumi()

    def make(name: str, stack: str, program: Path = PROGRAMS / "owners",
             env: dict[str, str] | None = None, **config: str) -> PulumiProject:
        proj = PulumiProject(program, tmp_path / name, env={**provider_env(emu), **(env or {})})
        meta = proj.dir / "Pulumi.yaml"
        doc = yaml.safe_load(meta.read_text())
        doc["name"] = name  # two projects, not two stacks of one
        meta.write_text(yaml.safe_dump(doc, sort_keys=False))
        proj.stack_init(stack)
        for key, value in config.items():
            proj.config_set(key, value)
        return proj

    return make


# ----- helpers ------------------------------------------------------------------------------------

def held(proj: PulumiProject) -> set[str]:
    """Every Skyflow object id and key id the stack's state holds."""
    out: set[str] = set()
    for r in proj.resources():
        if "skyflow:" not in str(r.get("type")):
            continue
        if r.get("id"):
            out.add(str(r["id"]))
        outs = r.get("outputs") or {}
        out.update(str(outs[k]) for k in ("key_id", "api_key_id", "previous_key_id")
                   if isinstance(outs.get(k), str) and outs[k])
    return out


def pending(proj: PulumiProject) -> int:
    return len(pending_types(proj))


def pending_types(proj: PulumiProject) -> list[str]:
    """The resource types (``ServiceAccount``, ...) of the stack's pending creates."""
    return [str(op["resource"].get("type")).rsplit(":", 1)[-1]
            for op in proj.export().get("deployment", {}).get("pending_operations") or []
            if op.get("type") == "creating"]


def live_keys(emu: EmulatorProcess, sa_id: str, api: bool) -> set[str]:
    if api:
        return {k["keyID"] for k in _get(emu, f"/v1/serviceAccounts/{sa_id}/apikey")["apiKeys"]}
    return {k["keyID"] for k in _get(emu, f"/v1/serviceAccounts/{sa_id}/keys",
                                     keyTypes="USER_MANAGED")["keys"]}


def authenticates(emu: EmulatorProcess, secret: str, api: bool) -> bool:
    """A JWT key's credentials.json mints a token; an API key is accepted (not 401)."""
    if not api:
        return bool(emu.token(json.loads(secret)))
    r = emu.session().get(f"{emu.url}/v1/serviceAccounts", timeout=30, headers={
        "Authorization": f"Bearer {secret}", "X-Skyflow-Account-ID": emu.account_id})
    return r.status_code != 401


def creates_of(emu: EmulatorProcess, since: int, kinds: tuple[str, ...]) -> int:
    return sum(1 for e in api_requests(emu, since)
               if CREATE_OPS.get(e.get("operation") or "") in kinds and e["status"] == 200
               and e.get("fault") != "drop")


def kill_run(emu: EmulatorProcess, proj: PulumiProject, after: int, kinds: tuple[str, ...],
             *extra: str) -> None:
    """``pulumi up`` with latency, every process SIGKILLed after ``after`` acknowledged creates
    of ``kinds``; the file backend repaired if the kill cut its write, the lock released."""
    mark = len(api_requests(emu))
    emu.set_faults(latency_ms=LATENCY_MS)
    bg = Background(proj, "up", "--yes", "--skip-preview", *extra)
    try:
        wait_for(lambda: creates_of(emu, mark, kinds) >= after or bg.proc.poll() is not None,
                 what=f"{after} acknowledged creates")
    finally:
        bg.kill9()
        emu.clear_faults()
    time.sleep(0.5)  # requests in flight land
    proj.repair_after_kill()
    proj.run("cancel", "--yes", check=False)


def reset(proj: PulumiProject, *extra: str) -> None:
    """Undo a kill that left nothing to heal: no pending creates, nothing in Skyflow."""
    proj.refresh(clear_pending_creates=True, check=False)
    proj.run("destroy", "--yes", "--skip-preview", *extra, check=False)


def no_extra_keys(proj: PulumiProject) -> None:
    """Undo a key-create kill that left nothing to heal; the account stays."""
    proj.refresh(clear_pending_creates=True, check=False)
    proj.config_set("keys", "0")
    proj.up()


def session_gone(sid: int, timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    while session_processes(sid) and time.monotonic() < deadline:
        time.sleep(0.2)
    return session_processes(sid)


# ----- two projects on one account: keys --------------------------------------------------------

@pytest.mark.parametrize("kind", ["jwt", "api_key"])
def test_another_projects_killed_key_creates_never_delete_this_ones_key(
        emu: EmulatorProcess, project: Factory, kind: str) -> None:
    api = kind == "api_key"
    a = project(f"team-a-{kind}", "prod", prefix=f"own-{kind}", account=kind)
    a.up()
    outs = a.outputs(show_secrets=True)
    sa_id, a_secret = outs["shared_id"], outs["shared_secret"]
    a_keys = held(a) & live_keys(emu, sa_id, api)
    assert a_keys and authenticates(emu, a_secret, api)
    b = project(f"team-b-{kind}", "prod", prefix=f"own-{kind}", on=sa_id, keykind=kind,
                keys=str(KEYS))

    def unheld() -> set[str]:
        return live_keys(emu, sa_id, api) - a_keys - held(b)

    def attempt() -> set[str]:
        kill_run(emu, b, 2, KEY_OPS)
        return unheld()

    left = kill_until("unheld key of the killed run", attempt,
                      lambda keys: bool(keys) and pending(b) > 0, lambda: reset(b))
    # preview says what the up will do, and does none of it
    said = b.preview().output
    label = "API key" if api else "key"
    assert all(f"`pulumi up` deletes {label} {k} " in said for k in left), said[-3000:]
    assert all(f"{label} {k} " in said and "left alone" in said for k in a_keys), said[-3000:]
    assert left <= live_keys(emu, sa_id, api)
    result = b.up()
    assert_no_traceback(result)
    live = live_keys(emu, sa_id, api)
    b_keys = held(b) - {sa_id}
    assert a_keys <= live, f"team A's keys deleted: {a_keys - live}"
    assert authenticates(emu, a_secret, api)
    assert len(b_keys) == KEYS and b_keys <= live
    assert left & live == set(), "the killed run's own unheld keys stay valid"
    assert live == a_keys | b_keys
    for key in a_keys:  # reported by name, left alone
        assert key in result.output and "left alone" in result.output
    record(f"two_projects_one_account_killed_{'api_key' if api else 'key'}_creates",
           other_projects_keys_deleted=len(a_keys - live), before_issue_22="3 of 3 runs",
           other_projects_key_works=True, declared_keys=KEYS, held_live=len(b_keys),
           killed_runs_unheld_keys_after_kill=len(left), after_next_up=len(left & live))


# ----- two stacks, one identity, the same names ------------------------------------------------

def test_a_stack_sharing_identity_and_names_never_takes_over_another(
        emu: EmulatorProcess, project: Factory) -> None:
    a = project("payments-a", "prod", prefix="na", named="payments")
    a.up()
    outs = a.outputs(show_secrets=True)
    a_ids = {outs["svc_id"], outs["role_id"], outs["policy_id"]}
    b = project("payments-b", "prod", prefix="nb", named="payments")
    named = ("ServiceAccount", "Policy")

    def outside() -> set[str]:
        """B's objects of those names that neither state holds (the killed run's)."""
        found = {s["serviceAccount"]["ID"] for s in _get(emu, "/v1/serviceAccounts",
                                                         name="payments-api")["serviceAccounts"]}
        found |= {p["ID"] for p in _get(emu, "/v1/policies", **{
            "resource.ID": emu.vault_id, "resource.type": "VAULT",
            "filterOps.name": "paymentsPolicy"})["policies"]}
        return found - a_ids - held(b)

    def attempt() -> set[str]:
        kill_run(emu, b, 1, named, "--continue-on-error")
        return outside()

    left = kill_until("object of the killed run outside the state", attempt, bool,
                      lambda: reset(b, "--continue-on-error"))
    looked_up = {"ServiceAccount": outs["svc_id"], "Policy": outs["policy_id"]}
    repeated = [looked_up[t] for t in pending_types(b) if t in looked_up]
    assert repeated, "the kill left no pending create of an account or policy"
    result = b.up(continue_on_error=True, check=False)
    assert_no_traceback(result)
    # the role name is unique on the vault: Skyflow refuses, the message names A's role
    assert result.returncode != 0
    assert outs["role_id"] in result.output and "never taken over" in result.output
    assert f"adopt_id={outs['role_id']!r}" in result.output
    b_ids = held(b)
    assert a_ids & b_ids == set(), "another stack's object taken over"
    assert left <= b_ids, "the killed run's own objects were not taken over"
    for theirs in repeated:  # each name the killed run was creating: A's object named, left
        line = next(x for x in result.output.splitlines() if theirs in x and "left alone" in x)
        assert "no token of this stack" in line, line
    assert emu.token(json.loads(outs["svc_credentials"]))
    b.destroy()
    survivors = {s["serviceAccount"]["ID"] for s in _get(emu, "/v1/serviceAccounts",
                                                         name="payments-api")["serviceAccounts"]}
    assert outs["svc_id"] in survivors and emu.token(json.loads(outs["svc_credentials"]))
    assert _get(emu, f"/v1/roles/{outs['role_id']}")["role"]["ID"] == outs["role_id"]
    assert _get(emu, f"/v1/policies/{outs['policy_id']}")["policy"]["status"] == "ACTIVE"
    a.up(expect_no_changes=True)
    record("two_stacks_one_identity_same_names",
           other_stacks_objects_taken_over=0, other_stacks_objects_deleted_by_destroy=0,
           before_issue_22="account taken over, A's key dead, B's destroy deleted it",
           killed_runs_own_objects_taken_over=len(left), other_stacks_key_works=True)


# ----- hand-made keys -----------------------------------------------------------------------------

def test_keys_made_by_hand_survive_a_killed_key_create(emu: EmulatorProcess,
                                                       project: Factory) -> None:
    c = project("hand", "dev", program=PROGRAMS / "heal", prefix="hand", count="1")
    c.up()
    sa_id = c.outputs()["sa-0_id"]
    s = emu.session()

    def post(path: str, body: dict[str, Any] | None, bearer: str) -> dict[str, Any]:
        r = s.post(emu.url + path, json=body, headers=emu.headers(bearer), timeout=30)
        r.raise_for_status()
        return dict(r.json())

    person = post("/v1/serviceAccounts", {"serviceAccount": {"name": "hand-person"}},
                  emu.token())
    admin_role = _get(emu, "/v1/roles", **{"resource.ID": emu.account_id,
                                           "resource.type": "ACCOUNT",
                                           "name": "ACCOUNT_ADMIN"})["roles"][0]["ID"]
    post("/v1/roles/assign", {"ID": admin_role, "members": [
        {"ID": person["clientID"], "type": "SERVICE_ACCOUNT"}]}, emu.token())
    by_person = post(f"/v1/serviceAccounts/{sa_id}/keys", None, emu.token(person))
    by_admin = post(f"/v1/serviceAccounts/{sa_id}/keys", None, emu.token())  # no ctx: no run
    hand = {by_person["keyID"], by_admin["keyID"]}

    def attempt() -> set[str]:
        c.config_set("keys", "4")
        kill_run(emu, c, 1, ("ServiceAccountKey",))
        return live_keys(emu, sa_id, False) - held(c) - hand

    left = kill_until("unheld key of the killed run", attempt,
                      lambda keys: bool(keys) and pending(c) > 0, lambda: no_extra_keys(c))
    assert_no_traceback(c.up())
    live = live_keys(emu, sa_id, False)
    assert hand <= live and emu.token(by_person) and emu.token(by_admin)
    assert left & live == set() and live == (held(c) - {sa_id}) | hand
    record("hand_made_keys_and_a_killed_key_create", hand_made_keys_deleted=0,
           hand_made_keys_work=True, killed_runs_unheld_keys_after_kill=len(left),
           after_next_up=0)


# ----- no proof: report, never delete -------------------------------------------------------------

def limited_identity(emu: EmulatorProcess, path: Path) -> Path:
    """A service account that may manage accounts and keys but not read the audit log."""
    s = emu.session()

    def post(p: str, body: dict[str, Any]) -> dict[str, Any]:
        r = s.post(emu.url + p, json=body, headers=emu.headers(), timeout=30)
        r.raise_for_status()
        return dict(r.json())

    perms = [f"{o}.{v}" for o in ("serviceAccount", "serviceAccountKey", "apiKey")
             for v in ("create", "read", "update", "delete")]
    role = post("/v1/roles", {"roleDefinition": {"name": "no-audit", "permissions": perms},
                              "resource": {"ID": emu.account_id, "type": "ACCOUNT"}})["ID"]
    sa = post("/v1/serviceAccounts", {"serviceAccount": {"name": "no-audit-admin"}})
    post("/v1/roles/assign", {"ID": role, "members": [{"ID": sa["clientID"],
                                                      "type": "SERVICE_ACCOUNT"}]})
    path.write_text(json.dumps(sa))
    path.chmod(0o600)
    return path


def test_without_audit_permission_nothing_is_deleted_and_every_key_named(
        emu: EmulatorProcess, project: Factory, tmp_path: Path) -> None:
    creds = limited_identity(emu, tmp_path / "no-audit.json")
    d = project("noaudit", "dev", program=PROGRAMS / "heal",
                env={"SKYFLOW_CREDENTIALS_FILE": str(creds)}, prefix="noaudit", count="1")
    d.up()
    sa_id = d.outputs()["sa-0_id"]

    def attempt() -> set[str]:
        d.config_set("keys", "4")
        kill_run(emu, d, 1, ("ServiceAccountKey",))
        return live_keys(emu, sa_id, False) - held(d)

    left = kill_until("unheld key of the killed run", attempt,
                      lambda keys: bool(keys) and pending(d) > 0, lambda: no_extra_keys(d))
    result = d.up()
    assert_no_traceback(result)
    assert left <= live_keys(emu, sa_id, False), "deleted without proof"
    for key in left:
        line = next(x for x in result.output.splitlines() if f"key {key} " in x)
        assert "cannot prove" in line and f"--delete-key {sa_id}/{key}" in line, line
    # the way out the message names works
    tool = subprocess.run([str(REPO_ROOT / "venv" / "bin" / "python"), "-m",
                           "skyflow_provider.pending", *(a for k in sorted(left)
                                                         for a in ("--delete-key",
                                                                   f"{sa_id}/{k}"))],
                          env=d.environment(), capture_output=True, text=True, timeout=120,
                          cwd=REPO_ROOT)
    d.captured.append(Result(("pending",), tool.stdout, tool.stderr, tool.returncode))
    assert tool.returncode == 0, tool.stdout + tool.stderr
    assert live_keys(emu, sa_id, False) == held(d) - {sa_id}
    record("no_audit_permission_killed_key_create", deleted_without_proof=0,
           unproved_keys_reported=len(left), way_out="python -m skyflow_provider.pending "
           "--delete-key <account>/<key>")


# ----- nothing of a killed run stays alive --------------------------------------------------------

def processes_of(work_dir: Path) -> list[str]:
    """Live processes whose working directory or command line is in ``work_dir``."""
    mine, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == mine:
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            cwd = os.readlink(entry / "cwd")
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if cwd.startswith(str(work_dir)) or str(work_dir) in cmd:
            found.append(f"{entry.name}: {cmd[:160]}")
    return found


def test_a_killed_run_leaves_no_process_alive(emu: EmulatorProcess, project: Factory) -> None:
    """SIGKILL of the CLI's process group mid-up (plugins run in groups of their own): 10 s
    later nothing of the run is left, our Python language host included."""
    proj = project("alive", "dev", program=PROGRAMS / "heal", prefix="alive", count="8")
    mark = len(api_requests(emu))
    emu.set_faults(latency_ms=LATENCY_MS)
    bg = Background(proj, "up", "--yes", "--skip-preview")
    try:
        wait_for(lambda: creates_of(emu, mark, ("ServiceAccount",)) >= 1, what="a create")
        running = processes_of(proj.work_dir)
        assert any("pulumi-language-python" in p for p in running), running
        os.killpg(bg.proc.pid, signal.SIGKILL)
        bg.proc.wait(30)
        killed_at = time.monotonic()
        left = session_gone(bg.proc.pid, 10.0)
        gone_after = time.monotonic() - killed_at
    finally:
        emu.clear_faults()
        kill_all_of_session(bg.proc.pid)  # whatever failed the test must not outlive it
    assert left == [] and processes_of(proj.work_dir) == [], left
    record("sigkill_cli_group_processes_left_after_10s", processes_before_kill=len(running),
           left_after_10s=0, all_gone_after_s=round(gone_after, 1),
           language_host_included=True, before="the language host (5 min health check)")
    proj.repair_after_kill()
    proj.run("cancel", "--yes", check=False)
    assert_no_traceback(proj.up())
    assert Counter(r["type"].rsplit(":", 1)[-1] for r in proj.resources())["ServiceAccount"] == 8
