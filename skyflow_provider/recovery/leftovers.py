"""Keys a killed run of this stack minted and no state holds: deleted before this process mints
on their account, when Skyflow's audit log proves this stack made them. Every other key there
that this stack's state does not hold is reported by name and left alone.

Why: when every process of a run dies at once (a CI runner killing the job's process tree),
nothing of it lives on to undo what its last requests made (``ledger.post_mortem`` needs the
provider to survive its engine). Keys carry no name or creator. The checkpoint says which
accounts a killed run was minting on (its pending key creates) and which keys the state holds;
the audit log says which keys a token of this stack minted (``api.audit``). Only a key that is
both unheld and provably this stack's is deleted: another stack's key on the same account (a
second consumer of a shared account), or a key a person made, by hand or with the same identity
outside any run, is not (the first design deleted them on "unheld" alone, 3 runs of 3). When the
audit log cannot answer, nothing is deleted and every unheld key is reported.

Cost: nothing unless a killed run left a pending key create on the account: then one key listing
and one audit query, once per account and process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from ..api import audit, idempotency
from . import ledger
from .checkpoint import CHECKPOINT, Checkpoint, Creating

#: the earlier name, kept for its callers
Minting = Creating


def report(kind: str, key_id: str, sa_id: str, account: str, why: str,
           maker: audit.Maker | None) -> str:
    """The message for an unheld key left alone: what it is, who made it, the ways out."""
    by = f"made by {maker.describe()}" if maker else "its maker unknown"
    return (f"{kind} {key_id} of service account {sa_id} (account {account}) is held by no "
            f"state of this stack and {why} ({by}): it is left alone. If it is a leftover of "
            f"this stack, delete it (Skyflow Studio, or `python -m skyflow_provider.pending "
            f"--delete-key {sa_id}/{key_id}`); `pulumi refresh` of the stack that manages the "
            "account lists it in unmanaged_key_ids")


class Leftovers:
    """Per process: which accounts were swept, and what was only reported."""

    def __init__(self, checkpoint: Checkpoint) -> None:
        self._checkpoint = checkpoint
        self._lock = threading.Lock()
        self._accounts: dict[Creating, threading.Lock] = {}
        self._swept: set[Creating] = set()
        #: account -> unheld keys reported, not deleted (this process's findings)
        self.reported: dict[str, list[str]] = {}

    def arrive(self, m: Creating) -> None:
        """At the entry of every key create (``Checkpoint.arrive``)."""
        self._checkpoint.arrive(m)

    def before_mint(self, client: Any, m: Creating, list_ids: Callable[[], Iterable[str]],
                    delete: Callable[[str], Any], warn: Callable[[str], None]) -> list[str]:
        """Sweep ``m``'s account once, before this process's first mint there; what was deleted.

        The checkpoint is read before this run's first create check (``Checkpoint.ensure``);
        when a killed run was minting on this account, its unheld keys are sorted into those a
        token of this stack made (deleted) and the rest (reported).
        """
        if m in self._swept or not self._checkpoint.killed(m):
            return []
        with self._lock:
            lock = self._accounts.setdefault(m, threading.Lock())
        with lock:
            if m in self._swept:
                return []
            unheld = self._unheld(client, list_ids)
            gone: list[str] = []
            if unheld:
                gone = self._sort(client, m, unheld, delete, warn)
            self._swept.add(m)
            return gone

    def _unheld(self, client: Any, list_ids: Callable[[], Iterable[str]]) -> list[str]:
        held = self._checkpoint.held()
        mine = {i for made in ledger.made() for i in made.ids} | idempotency.made_here(client)
        return [k for k in list_ids() if k not in held and k not in mine]

    @staticmethod
    def _prove(client: Any, m: Creating) -> tuple[set[str], str]:
        """The keys of the account a token of this stack minted, and what to say of the rest."""
        try:
            who = audit.Who.stack(client)
            proved = audit.keys_created(client, m.scope, who, m.kind == "API key")
            return proved, f"no token of this stack ({who.ctx}) minted it"
        except audit.ProofUnavailable as err:
            return set(), f"this stack cannot prove it minted it: {err}"

    def _report(self, client: Any, m: Creating, left: list[str], why: str,
                warn: Callable[[str], None]) -> None:
        account = str(getattr(getattr(client, "settings", None), "account_id", "") or "")
        makers = audit.makers(client, [f"KEY/{k}" for k in left])
        for key_id in left:
            warn(report(m.kind, key_id, m.scope, account, why, makers.get(f"KEY/{key_id}")))

    def preview(self, client: Callable[[], Any], m: Creating,
                list_ids: Callable[[Any], Iterable[str]], warn: Callable[[str], None]) -> None:
        """At check (so at ``preview`` too): which keys the first mint on the account will
        delete and which it leaves, as warnings; nothing changes. No call unless a killed run
        was minting on the account."""
        if m in self._swept or not self._checkpoint.killed(m):
            return
        try:
            the_client = client()
            unheld = self._unheld(the_client, lambda: list_ids(the_client))
            proved, why = self._prove(the_client, m) if unheld else (set(), "")
            for key_id in unheld:
                if key_id in proved:
                    warn(f"`pulumi up` deletes {m.kind} {key_id} of service account {m.scope}: "
                         "a killed run of this stack minted it and no state holds it")
            self._report(the_client, m, [k for k in unheld if k not in proved], why, warn)
        except Exception as err:  # noqa: BLE001 - a preview note must never fail the check
            warn(f"a killed run of this stack was minting {m.describe()}; what it left could "
                 f"not be looked up now ({type(err).__name__}); `pulumi up` will")

    def _sort(self, client: Any, m: Creating, unheld: list[str], delete: Callable[[str], Any],
              warn: Callable[[str], None]) -> list[str]:
        proved, why = self._prove(client, m)
        gone = [k for k in unheld if k in proved]
        for key_id in gone:
            delete(key_id)
            warn(f"a killed run of this stack minted {m.kind} {key_id} of service account "
                 f"{m.scope} and no state holds it: deleted")
        left = [k for k in unheld if k not in proved]
        if left:
            self._report(client, m, left, why, warn)
            with self._lock:
                self.reported.setdefault(m.scope, []).extend(left)
        return gone


#: the process's own (providers are per process; so is what a killed run left)
LEFTOVERS = Leftovers(CHECKPOINT)

__all__ = ["LEFTOVERS", "Leftovers", "Minting", "report"]
