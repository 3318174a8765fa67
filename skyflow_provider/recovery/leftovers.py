"""Keys a killed run's key creates minted and no state holds, deleted before this process mints
on their account.

Why: when every process of a run dies at once (a CI runner killing the job's process tree),
nothing of it lives on to undo what its last requests made (``ledger.post_mortem`` needs the
provider to survive its engine). Accounts, roles and policies are taken over by name on the next
create (``idempotency.find_orphan``); keys carry no name or creator, so the checkpoint is the only
witness: the engine keeps a killed run's pending *creates* (not its updates) until a refresh
clears them, naming the accounts whose keys were being minted, and its resources name every key
the state holds. The next ``up`` repeats such a create (it was never recorded), so the sweep waits
for this process's first key mint: one ``pulumi stack export`` per provider process that mints
keys, no Management API call unless a killed run left something. Keys the state does not hold on
such an account are deleted, like the keys of a taken-over account; a key a refresh reported
(``unmanaged_key_ids``) counts as held.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from . import ledger, lifeline


@dataclasses.dataclass(frozen=True)
class Minting:
    """A create or update that may mint a key of ``kind`` ("key", "API key") on ``account``."""

    kind: str
    account: str


def _type(resource: Mapping[str, Any]) -> str:
    """``ServiceAccountKey`` from ``pulumi-python:dynamic/skyflow:ServiceAccountKey`` (dynamic)
    or ``skyflow:index:ServiceAccountKey`` (native)."""
    return str(resource.get("type") or "").rsplit(":", 1)[-1]


def _input(inputs: Mapping[str, Any], snake: str, camel: str) -> str:
    value = inputs.get(snake, inputs.get(camel))
    return value if isinstance(value, str) else ""


def minting(op_type: str, resource: Mapping[str, Any]) -> Minting | None:
    """What a pending operation of a checkpoint was minting: key and API-key creates."""
    name, inputs = _type(resource), resource.get("inputs") or {}
    if op_type == "creating" and name in ("ServiceAccountKey", "ApiKey"):
        account = _input(inputs, "service_account_id", "serviceAccountId")
        return Minting("key" if name == "ServiceAccountKey" else "API key", account) \
            if account else None
    return None


def pending_mintings(deployment: Mapping[str, Any]) -> Counter[Minting]:
    found: Counter[Minting] = Counter()
    for op in deployment.get("pending_operations") or []:
        m = minting(str(op.get("type") or ""), op.get("resource") or {})
        if m is not None:
            found[m] += 1
    return found


class Leftovers:
    """Per process: which accounts a killed run was minting on, and which were swept."""

    def __init__(self, read_back: Callable[[], tuple[str, list[str]] | None]) -> None:
        self._read_back = read_back
        self._lock = threading.Lock()
        self._gate = threading.Lock()
        self._arrived: Counter[Minting] = Counter()
        self._killed: Counter[Minting] | None = None
        self._held: set[str] = set()
        self._accounts: dict[Minting, threading.Lock] = {}
        self._swept: set[Minting] = set()

    def arrive(self, m: Minting) -> None:
        """At the entry of every key create: this run's own pending creates are told apart from
        a killed run's by these counts."""
        with self._lock:
            self._arrived[m] += 1

    def _load(self) -> None:
        how = self._read_back()
        deployment = ledger.export_state(*how) if how is not None else None
        with self._lock:
            if deployment is None:
                self._killed = Counter()
                return
            self._killed = pending_mintings(deployment) - self._arrived
            self._held = ledger.held_ids(deployment.get("resources") or [])

    def before_mint(self, m: Minting, list_ids: Callable[[], Iterable[str]],
                    delete: Callable[[str], Any], warn: Callable[[str], None]) -> list[str]:
        """Sweep ``m``'s account once, before this process's first mint there; what was deleted.

        The first caller reads the checkpoint while every other mint of this process waits, so
        none of this run's keys exists yet on an account being swept.
        """
        with self._gate:
            if self._killed is None:
                self._load()
        with self._lock:
            assert self._killed is not None
            if self._killed[m] <= 0 or m in self._swept:
                return []
            lock = self._accounts.setdefault(m, threading.Lock())
        with lock:
            if m in self._swept:
                return []
            mine = {i for made in ledger.made() for i in made.ids}
            gone = [k for k in list_ids() if k not in self._held and k not in mine]
            for key_id in gone:
                delete(key_id)
                warn(f"a killed run minted {m.kind} {key_id} of service account {m.account} "
                     "and no state holds it: deleted")
            self._swept.add(m)
            return gone


#: the process's own (providers are per process; so is what a killed run left)
LEFTOVERS = Leftovers(lifeline.read_back)
