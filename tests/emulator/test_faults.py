"""Fault injection: 429/500/503, lost responses after commit, latency, seeds; state stays sane."""

from __future__ import annotations

import time

import pytest
import requests

from tests.helpers.emulator_proc import EmulatorProcess

from .conftest import Api


def test_429_with_retry_after_and_5xx(fresh_emu: EmulatorProcess) -> None:
    api = Api(fresh_emu)
    token = api.admin_token
    fresh_emu.set_faults(rate_429=1.0, retry_after=7)
    r = api.call("GET", "/v1/serviceAccounts", bearer=token)
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    assert r.json()["error"]["http_code"] == 429
    # the admin endpoint is never faulted
    assert fresh_emu.get_faults()["rate_429"] == 1.0
    for status in (500, 503):
        fresh_emu.set_faults(rate_429=0, **{f"rate_{status}": 1.0})
        r = api.call("POST", "/v1/serviceAccounts", bearer=token,
                     json_body={"serviceAccount": {"name": "never"}})
        assert r.status_code == status
        fresh_emu.set_faults(**{f"rate_{status}": 0})
    # injected errors had no side effects
    names = [s["serviceAccount"]["name"] for s in
             api.call("GET", "/v1/serviceAccounts", expect=200).json()["serviceAccounts"]]
    assert "never" not in names
    log = fresh_emu.read_request_log()
    assert {e.get("fault") for e in log} >= {"429", "500", "503"}


def test_lost_response_after_commit(fresh_emu: EmulatorProcess) -> None:
    api = Api(fresh_emu)
    token = api.admin_token
    fresh_emu.set_faults(rate_drop=1.0)
    with pytest.raises(requests.exceptions.ConnectionError):
        api.session.post(fresh_emu.url + "/v1/serviceAccounts", timeout=30,
                         json={"serviceAccount": {"name": "ghost"}},
                         headers={"Authorization": f"Bearer {token}",
                                  "X-Skyflow-Account-ID": fresh_emu.account_id})
    # the token exchange is not a write: still answered
    assert fresh_emu.exchange(fresh_emu.assertion()).status_code == 200
    # reads are never dropped
    listed = api.call("GET", "/v1/serviceAccounts", bearer=token, expect=200).json()
    fresh_emu.clear_faults()
    ghosts = [s for s in listed["serviceAccounts"] if s["serviceAccount"]["name"] == "ghost"]
    assert len(ghosts) == 1  # the write was committed
    keys = api.call("GET", "/v1/serviceAccounts/{ID}/keys",
                    path={"ID": ghosts[0]["serviceAccount"]["ID"]}, expect=200).json()["keys"]
    assert len(keys) == 1
    assert [e for e in fresh_emu.read_request_log() if e.get("fault") == "drop"]


def test_seed_makes_faults_reproducible(fresh_emu: EmulatorProcess) -> None:
    api = Api(fresh_emu)
    token = api.admin_token

    def run() -> list[int]:
        fresh_emu.set_faults(rate_429=0.3, rate_503=0.2, seed=1234)
        return [api.call("GET", "/v1/roleDefinitions", bearer=token).status_code
                for _ in range(30)]

    first, second = run(), run()
    assert first == second
    assert {200, 429, 503} <= set(first)


def test_latency(fresh_emu: EmulatorProcess) -> None:
    api = Api(fresh_emu)
    token = api.admin_token
    fresh_emu.set_faults(latency_ms=300)
    started = time.monotonic()
    api.call("GET", "/v1/roleDefinitions", bearer=token, expect=200)
    assert time.monotonic() - started >= 0.3
    fresh_emu.set_faults(latency_ms=0, latency_jitter_ms=50, seed=1)
    api.call("GET", "/v1/roleDefinitions", bearer=token, expect=200)


@pytest.mark.parametrize("bad", [{"rate_429": 2}, {"rate_500": -1}, {"nonsense": 1},
                                 {"rate_429": "half"}, {"rate_429": 0.6, "rate_503": 0.6},
                                 {"seed": "x"}, {"latency_ms": -5}])
def test_fault_settings_are_validated(emu: EmulatorProcess, bad: dict) -> None:
    r = emu.session().put(emu.url + "/_emulator/faults", json=bad, timeout=10,
                          headers={"Authorization": f"Bearer {emu.admin_token}"})
    assert r.status_code == 400
    assert emu.get_faults()["rate_429"] == 0


def test_faults_from_flags_and_env(tmp_path) -> None:
    with EmulatorProcess(tmp_path / "a", extra_args=["--rate-503", "1", "--fault-seed",
                                                     "3"]) as emu:
        r = emu.exchange(emu.assertion())
        assert r.status_code == 503
        assert emu.get_faults()["seed"] == 3
    with EmulatorProcess(tmp_path / "b",
                         env={"SKYFLOW_EMULATOR_FAULTS": '{"rate_429": 1, "retry_after": 2}'}
                         ) as emu:
        r = emu.exchange(emu.assertion())
        assert r.status_code == 429 and r.headers["Retry-After"] == "2"


@pytest.mark.slow
def test_state_stays_consistent_under_429s_and_lost_responses(
        fresh_emu: EmulatorProcess) -> None:
    """A retrying client under faults: nothing partial, nothing acknowledged is lost."""
    api = Api(fresh_emu)
    token = api.admin_token
    fresh_emu.set_faults(rate_429=0.25, rate_drop=0.3, seed=99)
    headers = {"Authorization": f"Bearer {token}", "X-Skyflow-Account-ID": fresh_emu.account_id}
    acknowledged: list[str] = []
    attempts = 0
    for i in range(25):
        while True:
            attempts += 1
            try:
                r = api.session.post(fresh_emu.url + "/v1/serviceAccounts", headers=headers,
                                     json={"serviceAccount": {"name": f"chaos-{i}"}}, timeout=30)
            except requests.exceptions.ConnectionError:
                break  # lost response: the write may have happened; do not retry blindly
            if r.status_code == 429:
                continue
            assert r.status_code == 200, r.text
            acknowledged.append(r.json()["clientID"])
            break
    fresh_emu.clear_faults()
    listed = api.call("GET", "/v1/serviceAccounts", params={"limit": "1000"},
                      expect=200).json()["serviceAccounts"]
    ids = {s["serviceAccount"]["ID"] for s in listed}
    assert set(acknowledged) <= ids
    chaos = [s for s in listed if s["serviceAccount"]["name"].startswith("chaos-")]
    assert len(chaos) == 25  # every create committed exactly once (drops are post-commit)
    for s in chaos:  # no partial objects: every account has its key
        keys = api.call("GET", "/v1/serviceAccounts/{ID}/keys",
                        path={"ID": s["serviceAccount"]["ID"]}, expect=200).json()["keys"]
        assert len(keys) == 1
    assert len(acknowledged) < 25 < attempts
