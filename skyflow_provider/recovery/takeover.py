"""An account, role or policy a killed run of this stack created and never recorded: taken over
by the create that repeats it, when Skyflow's audit log proves this stack made it.

Why: a killed ``pulumi up`` leaves the objects its creates made outside the state, and the
next ``up`` repeats those creates (the checkpoint keeps them as pending). Creating again would
duplicate them, each with a live key nobody holds; taking over "the object of this name created
by this identity" (the first design) took over another stack's object whenever two stacks
shared an identity and a name, and its destroy then deleted it. So:

* only a create the checkpoint names as a killed run's pending create looks its name up at all
  (one name-filtered listing); every other create is the create alone (no call that grows with
  the account);
* of the objects of that name that no state holds and this process did not make, the one a token
  of this stack created (``audit.Who.stack``) is taken over; with several, or with
  ``skyflow:adoptOwnOrphans`` false, the create stops, naming them;
* an object of the name that a token of this stack did not create (another stack's, a person's)
  is never taken over or deleted: the create goes ahead (a service account or policy of the same
  name may exist beside it, as Skyflow allows; a role name is unique per vault, and Skyflow's
  refusal is explained by ``conflict_message``) and a warning names it;
* when the audit log cannot answer, nothing is taken over and the create stops, naming every
  candidate with its creator and the ways out: a human decides.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

from ..api import audit, idempotency, snapshots
from ..api.idempotency import AdoptionRefused
from .checkpoint import CHECKPOINT, Checkpoint, Creating

log = logging.getLogger(__name__)

Listing = Callable[[], Mapping[str, Mapping[str, Any]]]
#: the audit log's collection of each kind
COLLECTIONS = {"ServiceAccount": audit.SERVICE_ACCOUNTS, "Role": audit.ROLES,
               "Policy": audit.POLICIES, "Vault": audit.VAULTS, "User": audit.USERS,
               "StsConfig": audit.STS_CONFIGS}

_acted: set[Creating] = set()
_lock = threading.Lock()


def _warn(message: str) -> None:
    """A warning in the CLI output (the provider process's stderr; never a secret)."""
    print(f"warning: skyflow: {message}", file=sys.stderr, flush=True)


def _describe(obj_id: str, obj: Mapping[str, Any]) -> str:
    creator = snapshots.creator_of(obj) or "an unknown identity"
    return f"{obj_id} (created by {creator} at {snapshots.created_on(obj)})"


@dataclasses.dataclass(frozen=True)
class Finding:
    """The objects of a name a killed run may have left: unheld candidates, which of them a token
    of this stack created, and why nothing could be proved (None: it could)."""

    candidates: Mapping[str, Mapping[str, Any]]
    proved: frozenset[str]
    why: str | None


_found: dict[Creating, Finding] = {}


def _find(client: Any, c: Creating, listing: Listing, checkpoint: Checkpoint) -> Finding:
    """Look the name up and ask the audit log, once per process (preview and create share it)."""
    with _lock:
        if c in _found:
            return _found[c]
    held = checkpoint.held() | idempotency.made_here(client)
    candidates = {k: v for k, v in idempotency._read(listing).items()
                  if k not in held and snapshots.live(v)}
    proved: set[str] = set()
    why = None
    if candidates:
        try:
            proved = audit.created(client, COLLECTIONS[c.kind], candidates,
                                   audit.Who.stack(client))
        except audit.ProofUnavailable as err:
            why = str(err)
    with _lock:
        return _found.setdefault(c, Finding(candidates, frozenset(proved), why))


def _decide(client: Any, c: Creating, f: Finding, what: str
            ) -> tuple[tuple[str, Mapping[str, Any]] | None, str | None, list[str]]:
    """(the object to take over, the refusal, the warnings) for a finding."""
    if f.why is not None:
        listed = "; ".join(_describe(k, v) for k, v in sorted(f.candidates.items()))
        first = min(f.candidates)
        return None, (
            f"{what}: a killed run of this stack was creating {c.describe()}, and "
            f"{len(f.candidates)} object(s) of that name exist that no state holds: {listed}. "
            f"This stack cannot prove it made them ({f.why}), so none is taken over or deleted. "
            f"If one is this resource's, set adopt_id={first!r} (the id of that one); if it is "
            "a leftover, delete it (python -m skyflow_provider.pending on an export of the "
            "stack, --delete); if it belongs to someone else, give this resource another name "
            "or drop the pending create (pulumi refresh --clear-pending-creates)"), []
    warnings = [f"{what}: {c.describe()} also names {_describe(k, v)}, which no token of this "
                f"stack ({getattr(client, 'owner_tag', None)}) created: it is not this stack's "
                "and is left alone" for k, v in sorted(f.candidates.items()) if k not in f.proved]
    mine = {k: v for k, v in f.candidates.items() if k in f.proved}
    if not mine:
        return None, None, warnings
    if len(mine) > 1:
        return None, (
            f"{what}: killed runs of this stack left {len(mine)} objects named {c.name!r} "
            f"({', '.join(sorted(mine))}) that no state holds; Skyflow cannot tell which one "
            "this resource should hold. Delete the extra ones, or set adopt_id to the one to "
            "keep"), warnings
    obj_id, obj = next(iter(mine.items()))
    if not getattr(getattr(client, "settings", None), "adopt_own_orphans", True):
        return None, (
            f"{what}: an object named {c.name!r} already exists ({obj_id}, created by a killed "
            f"run of this stack at {snapshots.created_on(obj)}) and no state holds it. "
            f"skyflow:adoptOwnOrphans is false, so it is not taken over: set it to true, set "
            f"adopt_id={obj_id!r}, or delete it (python -m skyflow_provider.pending --delete "
            "on an export of the killed run's state)"), warnings
    return (obj_id, obj), None, warnings


def find_leftover(client: Any, c: Creating, listing: Listing, what: str,
                  checkpoint: Checkpoint | None = None) -> Mapping[str, Any] | None:
    """The object this create should take over instead of creating one, or None to create.

    Costs nothing unless the checkpoint shows a killed run's pending create of ``c``.
    """
    checkpoint = checkpoint or CHECKPOINT
    checkpoint.arrive(c)
    if not checkpoint.killed(c):
        return None
    found = _find(client, c, listing, checkpoint)
    with _lock:
        if c in _acted:
            return None
        _acted.add(c)
    if not found.candidates:
        return None
    take, refusal, warnings = _decide(client, c, found, what)
    for message in warnings:
        _warn(message)
    if refusal is not None:
        raise AdoptionRefused(refusal, operation=what)
    if take is None:
        return None
    obj_id, obj = take
    log.warning("%s: taking over %s, created by a killed run of this stack and held by no "
                "state", what, obj_id)
    _warn(f"{what}: taking over {obj_id}, which a killed run of this stack created "
          f"({snapshots.created_on(obj)}) and no state holds")
    idempotency.took_over(client, obj_id)
    return obj


def preview(client: Callable[[], Any], c: Creating, listing: Callable[[Any], Listing],
            what: str, checkpoint: Checkpoint | None = None) -> None:
    """At check (so at ``preview`` too): what the create will do about a killed run's leftover,
    as warnings; nothing changes. No call unless a killed run left a pending create of ``c``."""
    checkpoint = checkpoint or CHECKPOINT
    if not checkpoint.killed(c):
        return
    try:
        the_client = client()
        found = _find(the_client, c, listing(the_client), checkpoint)
        if not found.candidates:
            return
        take, refusal, warnings = _decide(the_client, c, found, what)
    except Exception as err:  # noqa: BLE001 - a preview note must never fail the check
        _warn(f"{what}: a killed run of this stack was creating {c.describe()}; what it left "
              f"could not be looked up now ({type(err).__name__}); `pulumi up` will")
        return
    for message in warnings:
        _warn(message)
    if refusal is not None:
        _warn(f"{refusal} (`pulumi up` will stop here)")
    elif take is not None:
        _warn(f"{what}: `pulumi up` takes over {take[0]}, which a killed run of this stack "
              f"created ({snapshots.created_on(take[1])}) and no state holds")


def conflict_message(client: Any, what: str, name: str, listing: Listing) -> str | None:
    """After Skyflow refused a create because the name is taken (a role's, unique per vault):
    who holds it and the ways out (one name-filtered listing, only on that refusal)."""
    try:
        found = idempotency._read(listing)
    except Exception:  # noqa: BLE001 - the refusal itself is reported either way
        return None
    if not found:
        return None
    listed = "; ".join(_describe(k, v) for k, v in sorted(found.items()))
    first = min(found)
    return (f"{what}: an object named {name!r} already exists: {listed}. No state of this stack "
            "holds it, so it is never taken over automatically. Give this resource another "
            f"name (namePrefix), or set adopt_id={first!r} to take it over deliberately")


def forget() -> None:
    """Forget which names were looked up (tests)."""
    with _lock:
        _acted.clear()
        _found.clear()


__all__ = ["Finding", "conflict_message", "find_leftover", "forget", "preview"]
