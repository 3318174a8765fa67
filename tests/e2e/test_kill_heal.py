"""Issue 16: a SIGKILLed `pulumi up` heals itself on the next `pulumi up`.

The real CLI against the emulator with 150 ms of latency: 20 service accounts, the CLI process
SIGKILLed after 1, 5 and 15 acknowledged creates (only the CLI: its plugins are left to notice
on their own, as after a CI timeout). Then `pulumi cancel` and one `pulumi up`, nothing else:
declared == live, no duplicates, every live key held by the state, the held credentials mint
tokens, and no process of the killed run is left. Also: the same with adoption turned off (the
run fails naming the object and the ways out).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import api_requests
from tests.e2e.test_faults import (
    Background,
    _get,
    acknowledged_creates,
    faults_program,
    live_objects,
    no_traceback,
    orphans,
    wait_for,
)
from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.figures import record
from tests.helpers.pulumi_cli import PulumiProject

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

COUNT = 20


def session_processes(sid: int) -> list[str]:
    """Command lines of the live processes of session ``sid`` (the killed CLI's session)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[3]) != sid or fields[0] == "Z":
                continue
            found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:160])
        except (OSError, IndexError, ValueError):
            continue
    return found


def kill_cli(bg: Background) -> None:
    """SIGKILL the CLI process alone (not its group): its plugins must notice by themselves."""
    os.kill(bg.proc.pid, signal.SIGKILL)
    bg.proc.wait(30)


def held_state(proj: PulumiProject) -> tuple[set[str], set[str], list[dict[str, Any]]]:
    """(held account ids, held key ids, credentials) from the state, secrets decrypted."""
    result = proj.run("stack", "export", "--show-secrets", capture_stdout=False)
    deployment = json.loads(result.stdout).get("deployment", {})
    ids, keys, creds = set(), set(), []
    for r in deployment.get("resources") or []:
        if not str(r.get("type", "")).endswith("skyflow:ServiceAccount"):
            continue
        outs = r.get("outputs") or {}
        ids.add(str(r.get("id")))
        for k in ("key_id", "previous_key_id"):
            v = outs.get(k)
            if isinstance(v, dict) and "plaintext" in v:
                v = json.loads(v["plaintext"])
            if v:
                keys.add(str(v))
        value = outs.get("credentials")
        if isinstance(value, dict) and "plaintext" in value:  # a secret, decrypted
            value = json.loads(value["plaintext"])
        if value:
            creds.append(json.loads(value))
    return ids, keys, creds


def start_and_kill(emulator: EmulatorProcess, proj: PulumiProject, kill_after: int
                   ) -> tuple[int, list[str], float]:
    mark = len(api_requests(emulator))
    emulator.set_faults(latency_ms=150)
    bg = Background(proj, "up", "--yes", "--skip-preview")
    wait_for(lambda: sum(acknowledged_creates(api_requests(emulator, mark)).values())
             >= kill_after, what=f"{kill_after} acknowledged creates")
    kill_cli(bg)
    killed_at = time.monotonic()
    emulator.clear_faults()
    sid = bg.proc.pid
    deadline = time.monotonic() + 20
    while [p for p in session_processes(sid) if "pulumi.dynamic" in p] \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    providers_left = [p for p in session_processes(sid) if "pulumi.dynamic" in p]
    gone_after = time.monotonic() - killed_at
    # Whatever else is left of the killed run (not ours: the CLI's language host) is noted and
    # stopped, so the suite leaves nothing running.
    others = session_processes(sid)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == sid:
                    os.kill(int(entry.name), signal.SIGKILL)
            except OSError:
                pass
    assert providers_left == [], (providers_left, others)
    return sid, others, gone_after


@pytest.mark.parametrize("kill_after", [1, 5, 15])
def test_killed_up_heals_on_the_next_up(
        emulator: EmulatorProcess, project_factory: Callable[..., PulumiProject],
        kill_after: int) -> None:
    prefix = f"heal{kill_after}"
    proj = faults_program(project_factory, prefix, prefix, prefix=prefix, mode="sas",
                          count=str(COUNT))
    _sid, others, gone_after = start_and_kill(emulator, proj, kill_after)
    time.sleep(0.5)  # requests in flight land
    stray = orphans(emulator, proj, f"{prefix}-")
    proj.run("cancel", "--yes", check=False)  # the file backend may hold no lock
    result = proj.up()
    no_traceback(result)
    proj.up(expect_no_changes=True)
    live = live_objects(emulator, f"{prefix}-")
    assert live["ServiceAccount"] == COUNT and live["duplicate names"] == 0, live
    assert orphans(emulator, proj, f"{prefix}-") == []
    ids, held_keys, creds = held_state(proj)
    live_keys = set()
    for sa_id in ids:
        live_keys |= {k["keyID"] for k in _get(emulator, f"/v1/serviceAccounts/{sa_id}/keys",
                                                keyTypes="USER_MANAGED").get("keys") or []}
    assert live_keys <= held_keys, live_keys - held_keys
    assert len(creds) == COUNT and all(emulator.token(c) for c in creds)
    record(f"sigkill_heal_after_{kill_after}_of_{COUNT}", declared=COUNT,
           live=live["ServiceAccount"], objects_outside_state_after_kill=len(stray),
           orphans_after_next_up=0, duplicates=0, unheld_live_keys=0,
           provider_process_gone_after_s=round(gone_after, 1),
           other_processes_of_killed_run=len(others), manual_steps="pulumi cancel")


def test_killed_up_with_adoption_off_fails_naming_the_object(
        emulator: EmulatorProcess, project_factory: Callable[..., PulumiProject]) -> None:
    prefix = "noadopt"
    proj = faults_program(project_factory, prefix, prefix, prefix=prefix, mode="sas",
                          count=str(COUNT))
    proj.config_set("skyflow:adoptOwnOrphans", "false")
    start_and_kill(emulator, proj, 5)
    time.sleep(0.5)
    stray = [s for s in orphans(emulator, proj, f"{prefix}-") if s[0] == "sa"]
    proj.run("cancel", "--yes", check=False)
    result = proj.up(check=False)
    no_traceback(result)
    if stray:
        assert result.returncode != 0
        assert "adoptOwnOrphans is false" in result.output and stray[0][1] in result.output
        assert live_objects(emulator, f"{prefix}-")["duplicate names"] == 0
    record("sigkill_adoption_off", objects_outside_state_after_kill=len(stray),
           next_up_failed=result.returncode != 0, duplicates=0,
           message_names_object=bool(stray))
