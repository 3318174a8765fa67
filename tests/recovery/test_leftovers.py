"""recovery/leftovers.py: before its first key mint a process deletes the keys a killed run
minted that no state holds, told apart from this run's own pending operations (issue 16)."""

from __future__ import annotations

from typing import Any

import pytest

from skyflow_provider.recovery import ledger, leftovers
from skyflow_provider.recovery.leftovers import Leftovers, Minting

DYN = "pulumi-python:dynamic/skyflow:"


def op(kind: str, type_: str, **resource: Any) -> dict[str, Any]:
    return {"type": kind, "resource": {"type": type_, **resource}}


def test_pending_mintings_of_both_forms() -> None:
    deployment = {"pending_operations": [
        op("creating", DYN + "ServiceAccountKey", inputs={"service_account_id": "sa1"}),
        op("creating", "skyflow:index:ApiKey", inputs={"serviceAccountId": "sa2"}),
        op("creating", DYN + "ServiceAccountKey", inputs={"service_account_id": "sa1"}),
        op("creating", DYN + "ServiceAccount", inputs={"name": "x"}),  # taken over by name
        # the engine drops a killed run's pending updates and deletes; only this run's show
        op("updating", DYN + "ServiceAccountKey", inputs={"service_account_id": "sa1"}),
        op("deleting", DYN + "ServiceAccountKey", inputs={"service_account_id": "sa1"}),
    ]}
    assert leftovers.pending_mintings(deployment) == {
        Minting("key", "sa1"): 2, Minting("API key", "sa2"): 1}


class Account:
    """Keys of one account, as Skyflow lists them."""

    def __init__(self, *keys: str) -> None:
        self.keys = list(keys)
        self.lists = 0
        self.warnings: list[str] = []

    def list_ids(self) -> list[str]:
        self.lists += 1
        return list(self.keys)

    def delete(self, key_id: str) -> None:
        self.keys.remove(key_id)


def with_state(monkeypatch: pytest.MonkeyPatch, deployment: dict[str, Any] | None) -> Leftovers:
    monkeypatch.setattr(ledger, "export_state", lambda *_a: deployment)
    monkeypatch.setattr(ledger, "_made", [])
    return Leftovers(lambda: ("pulumi", ["--stack", "dev"]))


def killed_key_create(held: list[str]) -> dict[str, Any]:
    return {"pending_operations": [
        op("creating", DYN + "ServiceAccountKey", inputs={"service_account_id": "sa1"})],
        "resources": [{"id": "sa1", "outputs": {"key_id": held[0]}},
                      {"id": held[1], "outputs": {"key_id": held[1]}}]}


def test_a_killed_runs_key_is_deleted_once_before_the_first_mint(monkeypatch) -> None:
    # the killed run's pending create, and this run's own create of the same resource
    deployment = killed_key_create(["k-account", "k-extra"])
    deployment["pending_operations"] *= 2
    left = with_state(monkeypatch, deployment)
    acct = Account("k-account", "k-extra", "k-orphan")
    m = Minting("key", "sa1")
    left.arrive(m)
    assert left.before_mint(m, acct.list_ids, acct.delete, acct.warnings.append) == ["k-orphan"]
    assert acct.keys == ["k-account", "k-extra"] and "k-orphan" in acct.warnings[0]
    assert left.before_mint(m, acct.list_ids, acct.delete, acct.warnings.append) == []
    assert acct.lists == 1


def test_this_runs_own_pending_operation_sweeps_nothing(monkeypatch) -> None:
    left = with_state(monkeypatch, killed_key_create(["k-account", "k-extra"]))
    acct = Account("k-account", "k-extra", "k-by-hand")
    m = Minting("key", "sa1")
    left.arrive(m)  # the one pending operation is this create's own
    assert left.before_mint(m, acct.list_ids, acct.delete, acct.warnings.append) == []
    assert acct.keys == ["k-account", "k-extra", "k-by-hand"] and acct.lists == 0


def test_keys_this_process_made_and_reported_keys_are_held(monkeypatch) -> None:
    deployment = killed_key_create(["k-account", "k-extra"])
    deployment["resources"][0]["outputs"]["unmanaged_key_ids"] = ["k-reported"]
    left = with_state(monkeypatch, deployment)
    ledger.delivered(["k-mine"], lambda: None, "key k-mine")
    acct = Account("k-account", "k-extra", "k-reported", "k-mine", "k-orphan")
    left.before_mint(Minting("key", "sa1"), acct.list_ids, acct.delete, acct.warnings.append)
    assert acct.keys == ["k-account", "k-extra", "k-reported", "k-mine"]


@pytest.mark.parametrize("deployment", [None, {"pending_operations": []}])
def test_no_state_or_no_killed_run_costs_no_call(monkeypatch, deployment) -> None:
    left = with_state(monkeypatch, deployment)
    acct = Account("k-orphan")
    assert left.before_mint(Minting("key", "sa1"), acct.list_ids, acct.delete,
                            acct.warnings.append) == []
    assert acct.lists == 0 and acct.keys == ["k-orphan"]


def test_another_accounts_killed_mint_leaves_this_one_alone(monkeypatch) -> None:
    left = with_state(monkeypatch, killed_key_create(["k-account", "k-extra"]))
    acct = Account("k-x")
    assert left.before_mint(Minting("key", "sa2"), acct.list_ids, acct.delete,
                            acct.warnings.append) == []
    assert left.before_mint(Minting("API key", "sa1"), acct.list_ids, acct.delete,
                            acct.warnings.append) == []
    assert acct.lists == 0
