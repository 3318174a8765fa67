"""recovery/leftovers.py: before its first key mint on an account a killed run was minting on,
a process deletes the unheld keys Skyflow's audit log proves this stack minted, and only those;
every other unheld key is reported by name (issue 22)."""

from __future__ import annotations

from typing import Any

import pytest

from skyflow_provider.recovery import checkpoint, ledger
from skyflow_provider.recovery.leftovers import Leftovers, Minting
from tests.fakes import FakeClient, FakeTokens

from .conftest import DYN, Killed, op

SA = "ServiceAccountKey"


def test_pending_creates_of_both_forms() -> None:
    deployment = {"pending_operations": [
        op("creating", SA, service_account_id="sa1"),
        {"type": "creating", "resource": {"type": "skyflow:index:ApiKey",
                                          "inputs": {"serviceAccountId": "sa2"}}},
        op("creating", SA, service_account_id="sa1"),
        op("creating", "ServiceAccount", name="x"),
        op("creating", "Role", name="r", vault_id="v1"),
        {"type": "creating", "resource": {"type": "skyflow:index:Policy",
                                          "inputs": {"name": "p", "vaultId": "v1"}}},
        op("creating", "RoleAssignment", role_id="r"),  # nothing to recover
        # the engine drops a killed run's pending updates and deletes; only this run's show
        op("updating", SA, service_account_id="sa1"),
        op("deleting", SA, service_account_id="sa1"),
    ]}
    assert checkpoint.pending_creates(deployment) == {
        Minting("key", "sa1"): 2, Minting("API key", "sa2"): 1,
        Minting("ServiceAccount", "", "x"): 1, Minting("Role", "v1", "r"): 1,
        Minting("Policy", "v1", "p"): 1}


class Account:
    """One account's keys in the fake, and what the sweep reported."""

    def __init__(self, fake: FakeClient, api: bool = False) -> None:
        self.fake, self.api = fake, api
        made = fake.create_service_account({"serviceAccount": {"name": "acct"},
                                            "apiKeyEnabled": api})
        self.id = made["clientID"]
        self.first = made.get("apiKeyID") if api else made["keyID"]
        self.warnings: list[str] = []

    def mint(self) -> str:
        made = self.fake.create_api_key(self.id) if self.api else self.fake.create_key(self.id)
        return str(made.get("apiKeyID") or made["keyID"])

    def ids(self) -> list[str]:
        keys = self.fake.api_keys if self.api else self.fake.keys
        return [k for k, v in keys.items() if v.get("saID") == self.id]

    def delete(self, key_id: str) -> None:
        (self.fake.delete_api_key if self.api else self.fake.delete_key)(self.id, key_id)

    def sweep(self, left: Leftovers) -> list[str]:
        kind = "API key" if self.api else "key"
        return left.before_mint(self.fake, Minting(kind, self.id), self.ids, self.delete,
                                self.warnings.append)


def as_another_stack(fake: FakeClient, tag: str = "pulumi:other/prod", jti: str = "jti-b"
                     ) -> tuple[str | None, FakeTokens]:
    before = (fake.owner_tag, fake.tokens)
    fake.owner_tag, fake.tokens = tag, FakeTokens(jti)
    return before


def state_holding(*key_ids: str, account: str) -> list[dict[str, Any]]:
    return [{"id": account, "type": DYN + "ServiceAccount", "outputs": {"key_id": key_ids[0]}},
            *({"id": k, "type": DYN + SA, "outputs": {"key_id": k}} for k in key_ids[1:])]


@pytest.mark.parametrize("api", [False, True])
def test_only_this_stacks_unheld_keys_are_deleted_the_rest_reported(
        killed: Killed, api: bool) -> None:
    fake = FakeClient()
    acct = Account(fake, api)
    theirs = as_another_stack(fake)  # another stack's key on the same account (a 2nd consumer)
    other = acct.mint()
    fake.owner_tag, fake.tokens = None, FakeTokens("jti-person")  # a person, no ctx
    by_hand = acct.mint()
    fake.owner_tag, fake.tokens = theirs
    ours_killed = acct.mint()  # a killed run of this stack minted it; nobody holds it
    kind = "API key" if api else "key"
    cp = killed(op("creating", "ApiKey" if api else SA, service_account_id=acct.id),
                resources=state_holding(acct.first, account=acct.id))
    left = Leftovers(cp)
    assert acct.sweep(left) == [ours_killed]
    assert sorted(acct.ids()) == sorted([acct.first, other, by_hand])
    assert any(f"{kind} {ours_killed}" in w and "deleted" in w for w in acct.warnings)
    for key_id, maker in ((other, "ctx 'pulumi:other/prod'"), (by_hand, "without ctx")):
        [line] = [w for w in acct.warnings if f"{kind} {key_id} " in w]
        assert "left alone" in line and maker in line and acct.id in line
        assert f"--delete-key {acct.id}/{key_id}" in line
    assert sorted(left.reported[acct.id]) == sorted([other, by_hand])
    assert acct.sweep(left) == []  # once per account and process


def test_without_the_audit_log_nothing_is_deleted_and_all_is_reported(killed: Killed) -> None:
    fake = FakeClient()
    acct = Account(fake)
    orphan = acct.mint()
    fake.audit_denied = True
    cp = killed(op("creating", SA, service_account_id=acct.id),
                resources=state_holding(acct.first, account=acct.id))
    assert acct.sweep(Leftovers(cp)) == []
    assert sorted(acct.ids()) == sorted([acct.first, orphan])
    [line] = acct.warnings
    assert f"key {orphan} " in line and "cannot prove" in line and "audit" in line


def test_api_key_credentials_prove_nothing(killed: Killed) -> None:
    fake = FakeClient()
    acct = Account(fake)
    orphan = acct.mint()
    fake.owner_tag = None  # the provider's token carries no tag
    cp = killed(op("creating", SA, service_account_id=acct.id),
                resources=state_holding(acct.first, account=acct.id))
    assert acct.sweep(Leftovers(cp)) == [] and orphan in acct.ids()
    assert "tag naming this stack" in acct.warnings[0]


def test_held_keys_reported_keys_and_this_processes_keys_are_kept(killed: Killed) -> None:
    fake = FakeClient()
    acct = Account(fake)
    extra, reported, mine, orphan = (acct.mint() for _ in range(4))
    resources = state_holding(acct.first, extra, account=acct.id)
    resources[0]["outputs"]["unmanaged_key_ids"] = [reported]
    ledger.delivered([mine], lambda: None, f"key {mine}")
    cp = killed(op("creating", SA, service_account_id=acct.id), resources=resources)
    assert acct.sweep(Leftovers(cp)) == [orphan]
    assert sorted(acct.ids()) == sorted([acct.first, extra, reported, mine])


@pytest.mark.parametrize("deployment", ["unreadable", "no killed run"])
def test_no_state_or_no_killed_run_costs_no_call(killed: Killed, deployment: str) -> None:
    fake = FakeClient()
    acct = Account(fake)
    orphan = acct.mint()
    cp = killed(None) if deployment == "unreadable" else killed()
    calls = len(fake.calls)
    assert acct.sweep(Leftovers(cp)) == [] and orphan in acct.ids()
    assert fake.calls[calls:] == []


def test_another_accounts_killed_mint_leaves_this_one_alone(killed: Killed) -> None:
    fake = FakeClient()
    acct = Account(fake)
    orphan = acct.mint()
    cp = killed(op("creating", SA, service_account_id="sa-elsewhere"))
    left = Leftovers(cp)
    assert acct.sweep(left) == [] and orphan in acct.ids()
    assert left.before_mint(fake, Minting("API key", acct.id), acct.ids, acct.delete,
                            acct.warnings.append) == []


def test_a_late_read_tells_this_runs_own_pending_create_apart(killed: Killed) -> None:
    """Read after this run's own create arrived (a replacement, a rotation): the one pending
    operation is that create's, so nothing is swept."""
    fake = FakeClient()
    acct = Account(fake)
    by_hand = acct.mint()
    cp = killed(op("creating", SA, service_account_id=acct.id),
                resources=state_holding(acct.first, account=acct.id))
    left = Leftovers(cp)
    left.arrive(Minting("key", acct.id))
    assert acct.sweep(left) == [] and by_hand in acct.ids()


def test_preview_says_which_keys_the_up_deletes_and_deletes_none(killed: Killed) -> None:
    fake = FakeClient()
    acct = Account(fake)
    theirs = as_another_stack(fake)
    other = acct.mint()
    fake.owner_tag, fake.tokens = theirs
    ours_killed = acct.mint()
    cp = killed(op("creating", SA, service_account_id=acct.id),
                resources=state_holding(acct.first, account=acct.id))
    left = Leftovers(cp)
    left.preview(lambda: fake, Minting("key", acct.id), lambda c: acct.ids(),
                 acct.warnings.append)
    assert sorted(acct.ids()) == sorted([acct.first, other, ours_killed])  # nothing deleted
    assert any(f"`pulumi up` deletes key {ours_killed}" in w for w in acct.warnings)
    assert any(f"key {other} " in w and "left alone" in w for w in acct.warnings)
    assert acct.sweep(left) == [ours_killed]  # the up then does what the preview said
