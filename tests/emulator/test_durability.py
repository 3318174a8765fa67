"""kill -9 loses nothing acknowledged; parallel writers do not corrupt state."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.helpers.emulator_proc import EmulatorProcess

from .conftest import Api


def test_kill_9_and_restart_keeps_every_acknowledged_write(fresh_emu: EmulatorProcess) -> None:
    api = Api(fresh_emu)
    creds = api.create_sa("durable", sa={"description": "before the crash"},
                          clientConfiguration={"enforceContextID": True})
    key2 = api.call("POST", "/v1/serviceAccounts/{ID}/keys", path={"ID": creds["clientID"]},
                    expect=200).json()
    ksa = api.create_sa("durable-key", apiKeyEnabled=True)
    rid = api.create_role("Durable", ["serviceAccount.read"],
                          resource=("ACCOUNT", fresh_emu.account_id))
    api.assign(rid, ksa["clientID"], condition="request.time < timestamp('2100-01-01T00:00:00Z')")
    pid = api.call("POST", "/v1/policies", expect=200, json_body={
        "name": "Durable", "activated": True,
        "resource": {"ID": fresh_emu.vault_id, "type": "VAULT"},
        "ruleParams": [{"name": "a", "ruleExpression": "ALLOW READ ON t.*"}]}).json()["ID"]
    api.call("POST", "/v1/policies/assign", json_body={"ID": pid, "roleIDs": [rid]}, expect=200)
    api.call("PATCH", "/v1/serviceAccounts/{ID}", path={"ID": creds["clientID"]}, expect=200,
             json_body={"serviceAccount": {"displayName": "last write"}})

    fresh_emu.restart(kill=True)
    api = Api(fresh_emu)
    got = api.call("GET", "/v1/serviceAccounts/{ID}", path={"ID": creds["clientID"]},
                   expect=200).json()
    assert got["serviceAccount"]["displayName"] == "last write"
    assert got["serviceAccount"]["description"] == "before the crash"
    assert got["clientConfiguration"]["enforceContextID"] is True
    keys = api.call("GET", "/v1/serviceAccounts/{ID}/keys", path={"ID": creds["clientID"]},
                    expect=200).json()["keys"]
    assert [k["keyID"] for k in keys] == [creds["keyID"], key2["keyID"]]
    assert api.token_for(key2, ctx="after-restart")
    # the API key still authenticates and its role still authorizes
    api.call("GET", "/v1/serviceAccounts", bearer=ksa["apiKey"], expect=200)
    members = api.call("GET", "/v1/roles/{ID}/members", path={"ID": rid}, expect=200).json()
    assert members["members"][0]["condition"].startswith("request.time")
    pol = api.call("GET", "/v1/policies/{ID}", path={"ID": pid}, expect=200).json()["policy"]
    assert pol["status"] == "ACTIVE" and pol["members"] == [rid]


@pytest.mark.slow
def test_parallel_writes_and_reads(fresh_emu: EmulatorProcess) -> None:
    api = Api(fresh_emu)
    token = api.admin_token
    role = api.create_role("Parallel", [])

    def work(i: int) -> str:
        local = Api(fresh_emu)
        local._admin = token
        creds = local.create_sa(f"par-{i}")
        local.assign(role, creds["clientID"])
        local.call("PATCH", "/v1/serviceAccounts/{ID}", path={"ID": creds["clientID"]},
                   json_body={"serviceAccount": {"description": f"d{i}"}}, expect=200)
        local.call("GET", "/v1/serviceAccounts", params={"name": f"par-{i}"}, expect=200)
        return str(creds["clientID"])

    with ThreadPoolExecutor(16) as pool:
        ids = list(pool.map(work, range(48)))
    assert len(set(ids)) == 48
    members = api.call("GET", "/v1/roles/{ID}/members", path={"ID": role},
                       params={"limit": "100"}, expect=200).json()["members"]
    assert {m["ID"] for m in members} == set(ids)
    for i, sa_id in enumerate(ids):
        got = api.call("GET", "/v1/serviceAccounts/{ID}", path={"ID": sa_id}, expect=200).json()
        assert got["serviceAccount"]["description"] == f"d{i}"


def test_kill_9_mid_burst_leaves_no_object_without_its_audit_event(
        fresh_emu: EmulatorProcess) -> None:
    """Whatever a crash catches in flight, every object that survives has the audit event of
    its create: the provider proves an object is its own by that event, and an object without
    one would be made a second time by its retry."""
    api = Api(fresh_emu)
    token, stop = api.admin_token, threading.Event()

    def burst(worker: int) -> None:
        local = Api(fresh_emu)
        local._admin = token
        for i in range(1000):
            if stop.is_set():
                return
            try:
                local.call("POST", "/v1/policies", json_body={
                    "name": f"Burst{worker}x{i}", "activated": False,
                    "resource": {"ID": fresh_emu.vault_id, "type": "VAULT"},
                    "ruleParams": [{"name": "a", "ruleExpression": "ALLOW READ ON t.*"}]})
            except requests.RequestException:
                return  # the server died under this request

    with ThreadPoolExecutor(8) as pool:
        for w in range(8):
            pool.submit(burst, w)
        deadline = time.monotonic() + 30
        while len(fresh_emu.read_request_log()) < 60 and time.monotonic() < deadline:
            time.sleep(0.01)
        fresh_emu.restart(kill=True)
        stop.set()
    api = Api(fresh_emu)
    policies = api.call("GET", "/v1/policies", expect=200, params={
        "resource.ID": fresh_emu.vault_id, "resource.type": "VAULT",
        "limit": "1000"}).json()["policies"]
    made = [p["ID"] for p in policies if p["name"].startswith("Burst")]
    assert len(made) >= 40, len(made)
    events = api.call("GET", "/v1/audit/events", expect=200, params={
        "filterOps.accountID": fresh_emu.account_id, "filterOps.actionType": "CREATE",
        "filterOps.resourceType": "POLICY", "limit": "1000"}).json()["event"]
    audited = {r.split("/", 1)[1] for e in events for r in e["resourceIDs"]
               if r.startswith("POLICY/")}
    assert set(made) <= audited, sorted(set(made) - audited)
