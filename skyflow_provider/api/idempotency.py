"""Creates that survive a lost response: recognise our own object and adopt it, never duplicate.

Why: a POST whose response never arrives (connection dropped, timeout, 5xx from a proxy) may
or may not have been committed. Blindly repeating it can create a second service account or
role; giving up leaves an orphan Pulumi does not know about. So every create here:

1. sends the create (nothing is listed before: the normal path costs the create alone);
2. when the outcome is unknown (``TransportError``, or a 5xx), lists the objects of the name
   and asks Skyflow's audit log which of them *this process* created (its tokens' ``jwtID``,
   ``audit.Who.process``), leaving out what the process already knows it made. One: it is
   ours, and it is adopted. None: the create did not happen, so it is sent again (up to
   ``ATTEMPTS`` times; objects of the name it did not make are named in a warning). More
   than one: we stop with a message naming them rather than guess. When the log cannot
   answer (no permission; API-key credentials) nothing is adopted: the create stops, naming
   the objects and ``adopt_id``.

The proof is what makes this safe for service accounts and policies, whose names Skyflow does
not force unique: an object another stack or a person made under the same name is never
adopted, however recent. No marker is written into the user's description, so adopted objects
show no drift.

Secrets cannot be adopted: a private key or API key lost with its response is gone. An adopted
service account therefore gets a freshly minted key (its lost key is deleted, so no credential
nobody holds stays valid), and a lost key create deletes the key this process minted (the audit
log names it) and mints again. Assignments (role members, policy attachments) are set-like:
after a lost response we check whether the member/role is there and assign again if not.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from ..http.errors import ServerError, SkyflowError, TransportError
from . import audit, snapshots
from .audit import ProofUnavailable

log = logging.getLogger(__name__)

ATTEMPTS = 3
BACKOFF_S = 1.0
T = TypeVar("T")

Sleep = Callable[[float], None]
#: which of these ids did this process create? (raises ProofUnavailable when it cannot say)
Proof = Callable[[Iterable[str]], set[str]]


class AdoptionError(SkyflowError):
    """Several new objects carry our name after a lost response: refusing to guess."""

    default_hint = (
        "Another process created an object with the same name at the same time. Delete the "
        "extra one(s) in Skyflow (or give this resource a unique name) and run `pulumi up` again."
    )


class AdoptionRefused(SkyflowError):
    """An object of the name being created exists and is not ours to take over."""

    default_hint = ""


_LOCK = threading.Lock()
#: per client, the ids this process took over on create; a delete of one of them in the same
#: run is the old resource of a replace or a move, and must not delete what the new one holds
ADOPTED: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
#: per client, the ids of the objects and keys this process created (answered or adopted)
MADE: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def adopted_this_run(client: Any, obj_id: str) -> bool:
    """Did this process take ``obj_id`` over on create? (then a delete of it is skipped)"""
    return str(obj_id) in ADOPTED.get(client, set())


def took_over(client: Any, obj_id: str) -> None:
    with _LOCK:
        ADOPTED.setdefault(client, set()).add(str(obj_id))
    made(client, obj_id)


def made(client: Any, obj_id: str) -> None:
    """Remember an object or key this process created (never taken for a lost one later)."""
    if obj_id:
        with _LOCK:
            MADE.setdefault(client, set()).add(str(obj_id))


def made_here(client: Any) -> set[str]:
    with _LOCK:
        return set(MADE.get(client, set()))


def outcome_unknown(err: BaseException) -> bool:
    """True when a write may have been applied although no success came back."""
    if isinstance(err, TransportError):
        return True
    return isinstance(err, ServerError)


def _read(fn: Callable[[], T], sleep: Sleep = time.sleep) -> T:
    """A read used for reconciliation: retried on 5xx/transport errors (reads are safe)."""
    for attempt in range(ATTEMPTS):
        try:
            return fn()
        except SkyflowError as err:
            if not outcome_unknown(err) or attempt == ATTEMPTS - 1:
                raise
            sleep(BACKOFF_S * 2 ** attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def process_proof(client: Any, collection: str) -> Proof:
    """Which of some ids of ``collection`` this process's own tokens created."""
    return lambda ids: audit.created(client, collection, ids, audit.Who.process(client))


def create_or_adopt(
    what: str,
    create: Callable[[], dict[str, Any]],
    listing: Callable[[], Mapping[str, Mapping[str, Any]]],
    *,
    sleep: Sleep = time.sleep,
    proof: Proof | None = None,
    known: Callable[[], Iterable[str]] = lambda: (),
) -> tuple[dict[str, Any] | None, Mapping[str, Any] | None]:
    """Run ``create``; on an unknown outcome adopt the one object ``proof`` says it made.

    ``listing`` returns ``{id: object}`` for every live object carrying the name being
    created; ``known`` the ids this process already holds (left out). Returns
    ``(response, None)`` when the create answered, ``(None, object)`` when adopted.
    """
    last: SkyflowError | None = None
    for attempt in range(ATTEMPTS):
        try:
            return create(), None
        except SkyflowError as err:
            if not outcome_unknown(err):
                raise
            last = err
        seen = set(known())
        candidates = {k: v for k, v in _read(listing, sleep).items() if k not in seen}
        if candidates:
            try:
                if proof is None:
                    raise ProofUnavailable("no way to ask Skyflow who made them")
                mine = proof(candidates) & set(candidates)
            except ProofUnavailable as why:
                raise AdoptionRefused(
                    f"{what}: the response was lost and {len(candidates)} object(s) of this "
                    f"name that this process does not hold exist ({', '.join(sorted(candidates))}"
                    f"); {why}, so it cannot tell whether one is the object its request made "
                    "and adopts none. Set adopt_id to the one this resource should hold (or "
                    "delete it) and run `pulumi up` again", operation=what) from None
            if len(mine) == 1:
                obj_id = next(iter(mine))
                log.warning("%s: the response was lost, adopting %s that it created", what,
                            obj_id)
                return None, candidates[obj_id]
            if len(mine) > 1:
                raise AdoptionError(
                    f"{what}: the response was lost and {len(mine)} new objects now carry this "
                    f"name ({', '.join(sorted(mine))})", operation=what)
            if not mine:
                # not ours by the audit log: never adopted, never deleted, but named, since a
                # create whose audit event Skyflow lost would look the same
                log.warning("%s: the response was lost; %s of this name exist(s) that this "
                            "process did not make (by the audit log) and stay(s) untouched; "
                            "sending the create again", what, ", ".join(sorted(candidates)))
        if attempt < ATTEMPTS - 1:
            sleep(BACKOFF_S * 2 ** attempt)
    assert last is not None
    raise last


def _by_id(items: Iterable[Any], id_of: Callable[[Mapping[str, Any]], Any],
           keep: Callable[[Mapping[str, Any]], bool]) -> dict[str, Mapping[str, Any]]:
    return {str(id_of(i)): i for i in items if isinstance(i, Mapping) and id_of(i) and keep(i)}


# ----- service accounts and their keys -----------------------------------------------------------

Named = Callable[[], dict[str, Mapping[str, Any]]]


def _named(fetch: Callable[[], Iterable[Any]], name: str) -> Named:
    """``{id: object}`` of the live objects ``fetch`` lists that carry exactly ``name`` (the
    server's name filter is a narrowing, not a promise)."""
    def listing() -> dict[str, Mapping[str, Any]]:
        return _by_id((snapshots.object_of(i) for i in fetch()), lambda o: o.get("ID"),
                      lambda o: snapshots.name_of(o) == name and snapshots.live(o))
    return listing


def sa_listing(client: Any, name: str) -> Named:
    """The live service accounts named ``name`` (one name-filtered listing)."""
    return _named(lambda: client.list_service_accounts(name=name), name)


def role_listing(client: Any, vault_id: str, name: str, rtype: str = "VAULT") -> Named:
    """The roles named ``name`` on a vault (one name-filtered listing)."""
    return _named(lambda: client.list_roles(vault_id, resource_type=rtype, name=name), name)


def policy_listing(client: Any, vault_id: str, name: str, rtype: str = "VAULT") -> Named:
    """The live policies named ``name`` on a vault (one name-filtered listing)."""
    return _named(lambda: client.list_policies(vault_id, resource_type=rtype, name=name), name)


def _account_scope(client: Any) -> str:
    return str(getattr(getattr(client, "settings", None), "account_id", "") or "")


def _created(client: Any, kind: str, scope: str, sample: Callable[[], Iterable[Any]],
             obj_id: str, resp: dict[str, Any]) -> dict[str, Any]:
    """Record a created object; add the namespace the response lacks when it can be derived
    from a listed sibling's (one small listing per process and kind; else the next refresh
    reads it)."""
    made(client, obj_id)
    if obj_id and not resp.get("namespace"):
        derived = snapshots.namespace_for(client, kind, scope,
                                         lambda: _read(sample, time.sleep), obj_id)
        if derived:
            resp = {**resp, "namespace": derived}
    return resp


def create_service_account(client: Any, body: Mapping[str, Any],
                           *, sleep: Sleep = time.sleep) -> dict[str, Any]:
    """``client.create_service_account`` that adopts its own account after a lost response.

    The adopted account's key (or API key) was lost with the response, so a fresh one is
    minted and the lost one deleted; the result has the same shape as a create response.
    """
    name = str((body.get("serviceAccount") or {}).get("name") or "")
    resp, adopted = create_or_adopt(
        f"create service account {name!r}",
        lambda: client.create_service_account(body), sa_listing(client, name), sleep=sleep,
        proof=process_proof(client, audit.SERVICE_ACCOUNTS), known=lambda: made_here(client))
    if resp is not None:
        return _created(client, "serviceAccount", _account_scope(client),
                        lambda: client.list_service_accounts(max_items=1),
                        str(resp.get("clientID") or ""), resp)
    assert adopted is not None
    sa_id = str(adopted["ID"])
    made(client, sa_id)
    if body.get("apiKeyEnabled"):
        lost = [str(k.get("keyID")) for k in _read(lambda: client.list_api_keys(sa_id), sleep)]
        out = dict(create_api_key(client, sa_id, sleep=sleep))
        for key_id in lost:
            _delete_quietly(_bind(client.delete_api_key, sa_id, key_id))
    else:
        lost = [str(k.get("keyID")) for k in _read(lambda: client.list_keys(sa_id), sleep)]
        out = dict(create_key(client, sa_id, sleep=sleep))
        for key_id in lost:
            _delete_quietly(_bind(client.delete_key, sa_id, key_id))
    out["clientID"] = sa_id
    out["clientName"] = out.get("clientName") or adopted.get("name") or name
    out["adopted"] = True
    return out


def _bind(fn: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    """``fn`` with its arguments fixed now (not late-bound like a loop lambda)."""
    return lambda: fn(*args)


def _delete_quietly(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except SkyflowError as err:  # a leftover unusable key is not worth failing the create
        log.warning("could not delete a key lost with its response: %s", err)


def _mint(client: Any, what: str, sa_id: str, api_keys: bool, create: Callable[[], Any],
          list_ids: Callable[[], list[str]], delete: Callable[[str], Any],
          sleep: Sleep) -> dict[str, Any]:
    """Create a key; after a lost response delete the key this process's request made (its
    secret is gone; the audit log names it), then retry."""
    last: SkyflowError | None = None
    for attempt in range(ATTEMPTS):
        try:
            resp = dict(create())
            made(client, str(resp.get("apiKeyID") or resp.get("keyID") or ""))
            return resp
        except SkyflowError as err:
            if not outcome_unknown(err):
                raise
            last = err
        unknown = set(_read(list_ids, sleep)) - made_here(client)
        try:
            orphans = audit.keys_created(client, sa_id, audit.Who.process(client), api_keys) \
                & unknown if unknown else set()
        except ProofUnavailable as why:
            log.warning("%s: the response was lost and the key it may have made cannot be told "
                        "from the account's others (%s): none is deleted; a refresh lists "
                        "them in unmanaged_key_ids", what, why)
            orphans = set()
        for orphan in orphans:
            log.warning("%s: the response was lost; deleting the orphan key %s", what, orphan)
            _delete_quietly(_bind(delete, orphan))
        if attempt < ATTEMPTS - 1:
            sleep(BACKOFF_S * 2 ** attempt)
    assert last is not None
    raise last


def create_key(client: Any, sa_id: str, *, sleep: Sleep = time.sleep) -> dict[str, Any]:
    """``client.create_key`` that never leaves a key whose private half was lost."""
    return _mint(client, f"create key for service account {sa_id}", sa_id, False,
                 lambda: client.create_key(sa_id),
                 lambda: [str(k.get("keyID")) for k in client.list_keys(sa_id)],
                 lambda k: client.delete_key(sa_id, k), sleep)


def create_api_key(client: Any, sa_id: str, *, sleep: Sleep = time.sleep) -> dict[str, Any]:
    """``client.create_api_key`` that never leaves an API key whose secret was lost."""
    return _mint(client, f"create API key for service account {sa_id}", sa_id, True,
                 lambda: client.create_api_key(sa_id),
                 lambda: [str(k.get("keyID")) for k in client.list_api_keys(sa_id)],
                 lambda k: client.delete_api_key(sa_id, k), sleep)


# ----- roles and policies -------------------------------------------------------------------------

def create_role(client: Any, body: Mapping[str, Any], *, sleep: Sleep = time.sleep
                ) -> dict[str, Any]:
    """``client.create_role`` that adopts its own role (same vault and name) after a loss."""
    name = str((body.get("roleDefinition") or {}).get("name") or "")
    resource = body.get("resource") or {}
    vault_id, rtype = str(resource.get("ID") or ""), str(resource.get("type") or "VAULT")
    resp, adopted = create_or_adopt(
        f"create role {name!r}", lambda: client.create_role(body),
        role_listing(client, vault_id, name, rtype), sleep=sleep,
        proof=process_proof(client, audit.ROLES), known=lambda: made_here(client))
    if resp is not None:
        return _created(client, "role", f"{rtype}:{vault_id}",
                        lambda: client.list_roles(vault_id, resource_type=rtype),
                        str(resp.get("ID") or ""), resp)
    made(client, str((adopted or {}).get("ID")))
    return {"ID": str((adopted or {}).get("ID")), "adopted": True,
            "namespace": (adopted or {}).get("namespace") or ""}


def create_policy(client: Any, body: Mapping[str, Any], *, sleep: Sleep = time.sleep
                  ) -> dict[str, Any]:
    """``client.create_policy`` that adopts its own policy (same vault and name) after a loss."""
    name = str(body.get("name") or "")
    resource = body.get("resource") or {}
    vault_id, rtype = str(resource.get("ID") or ""), str(resource.get("type") or "VAULT")
    resp, adopted = create_or_adopt(
        f"create policy {name!r}", lambda: client.create_policy(body),
        policy_listing(client, vault_id, name, rtype), sleep=sleep,
        proof=process_proof(client, audit.POLICIES), known=lambda: made_here(client))
    if resp is not None:
        return _created(client, "policy", f"{rtype}:{vault_id}",
                        lambda: client.list_policies(vault_id, resource_type=rtype,
                                                     max_items=1),
                        str(resp.get("ID") or ""), resp)
    made(client, str((adopted or {}).get("ID")))
    return {"ID": str((adopted or {}).get("ID")), "adopted": True}


# ----- assignments (set-like: check, then assign again) ------------------------------------------

def _assign(what: str, assign: Callable[[], Any], done: Callable[[], bool],
            sleep: Sleep) -> None:
    last: SkyflowError | None = None
    for attempt in range(ATTEMPTS):
        try:
            assign()
            return
        except SkyflowError as err:
            if not outcome_unknown(err):
                raise
            last = err
        if _read(done, sleep):
            log.warning("%s: the response was lost, but the assignment is in place", what)
            return
        if attempt < ATTEMPTS - 1:
            sleep(BACKOFF_S * 2 ** attempt)
    assert last is not None
    raise last


def assign_role(client: Any, role_id: str, members: Sequence[Mapping[str, Any]],
                condition: str | None = None, *, sleep: Sleep = time.sleep) -> None:
    """``client.assign_role`` that checks the role's members after a lost response."""
    wanted = {str(m.get("ID")) for m in members}

    def done() -> bool:
        have = {str(m.get("ID")) for m in client.list_role_members(role_id)}
        return wanted <= have

    _assign(f"assign role {role_id}",
            lambda: client.assign_role(role_id, list(members), condition=condition), done, sleep)


def assign_policy(client: Any, policy_id: str, role_ids: list[str], *,
                  sleep: Sleep = time.sleep) -> None:
    """``client.assign_policy`` that checks each role's policies after a lost response."""
    def done() -> bool:
        return all(any(str(p.get("ID")) == policy_id for p in client.list_role_policies(r))
                   for r in role_ids)

    _assign(f"attach policy {policy_id}", lambda: client.assign_policy(policy_id, role_ids),
            done, sleep)

