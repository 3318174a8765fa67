"""Creates that survive a lost response: recognise our own object and adopt it, never duplicate.

Why: a POST whose response never arrives (connection dropped, timeout, 5xx from a proxy) may
or may not have been committed. Blindly repeating it can create a second service account or
role; giving up leaves an orphan Pulumi does not know about. So every create here:

1. lists the objects that already carry the name we are about to create (a *snapshot*);
2. sends the create;
3. when the outcome is unknown (``TransportError``, or a 5xx), lists again: an object with our
   name that was not in the snapshot is ours, and it is adopted. None: the create did not
   happen, so it is sent again (up to ``ATTEMPTS`` times). More than one: we cannot tell which
   is ours, so we stop with a message naming them rather than guess.

The snapshot is what makes this safe for service accounts and policies, whose names Skyflow does
not force unique: we never adopt an object that existed before our request. Names are unique
within a stack (the reference stack prefixes them with ``namePrefix``), so a concurrent create of
the same name by another stack is the only way to get an ambiguous result. No marker is written
into the user's description, so adopted objects show no drift.

Secrets cannot be adopted: a private key or API key lost with its response is gone. An adopted
service account therefore gets a freshly minted key (its lost key is deleted, so no credential
nobody holds stays valid), and a lost key create deletes the orphan key and mints again.
Assignments (role members, policy attachments) are set-like: after a lost response we check
whether the member/role is there and assign again if not.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from ..http.errors import PermissionDeniedError, ServerError, SkyflowError, TransportError
from . import snapshots
from .snapshots import NameSnapshot

log = logging.getLogger(__name__)

ATTEMPTS = 3
BACKOFF_S = 1.0
T = TypeVar("T")

Sleep = Callable[[float], None]


class AdoptionError(SkyflowError):
    """Several new objects carry our name after a lost response: refusing to guess."""

    default_hint = (
        "Another process created an object with the same name at the same time. Delete the "
        "extra one(s) in Skyflow (or give this resource a unique name) and run `pulumi up` again."
    )


class AdoptionRefused(SkyflowError):
    """An object of the name being created exists and is not ours to take over."""

    default_hint = ""


#: per client, the ids this process took over on create; a delete of one of them in the same
#: run is the old resource of a replace or a move, and must not delete what the new one holds
ADOPTED: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def find_orphan(client: Any, snap: NameSnapshot, name: str, what: str
                ) -> Mapping[str, Any] | None:
    """The object of ``name`` to take over instead of creating one, or None to create.

    Issue 16: a killed ``pulumi up`` leaves objects it created but never recorded. Such an
    object is taken over when it is the only one of its name, this provider's own identity
    created it (``BasicAudit.CreatedBy``) and ``skyflow:adoptOwnOrphans`` is on (default).
    Anything else of the same name is refused with a message naming it and the ways out:
    another identity's object is never taken over. Costs no call: the snapshot is needed anyway.
    """
    snap.ensure(lambda fn: _read(fn))
    found = snap.named(name)
    if not found:
        return None
    me = snapshots.identity(client)
    allowed = getattr(getattr(client, "settings", None), "adopt_own_orphans", True)
    ids = ", ".join(sorted(found))
    if len(found) > 1:
        raise AdoptionRefused(
            f"{what}: {len(found)} objects named {name!r} already exist ({ids}); Skyflow "
            "cannot tell which one this resource should hold. Delete the extra ones, or set "
            "adopt_id to the one to keep", operation=what)
    obj_id, obj = next(iter(found.items()))
    creator = snapshots.creator_of(obj)
    created_on = str((obj.get("BasicAudit") or {}).get("CreatedOn") or "unknown time")
    if me is None or creator != me:
        raise AdoptionRefused(
            f"{what}: an object named {name!r} already exists ({obj_id}, created by "
            f"{creator or 'an unknown identity'} at {created_on}) and this provider's identity "
            f"({me or 'unknown: API key or bearer token'}) did not create it, so it is never "
            "taken over automatically. Rename this resource (namePrefix), delete that object, "
            f"or set adopt_id={obj_id!r} to take it over deliberately", operation=what)
    if not allowed:
        raise AdoptionRefused(
            f"{what}: an object named {name!r} already exists ({obj_id}, created by this "
            f"provider's identity at {created_on}) and no state holds it: probably left by an "
            "interrupted `pulumi up`. skyflow:adoptOwnOrphans is false, so it is not taken "
            f"over: set it to true, set adopt_id={obj_id!r}, or delete it (python -m "
            "skyflow_provider.pending --delete on an export of the killed run's state)",
            operation=what)
    log.warning("%s: taking over %s, created by this provider's identity at %s and held by "
                "no state (an interrupted run)", what, obj_id, created_on)
    ADOPTED.setdefault(client, set()).add(obj_id)
    return obj


def adopted_this_run(client: Any, obj_id: str) -> bool:
    """Did this process take ``obj_id`` over on create? (then a delete of it is skipped)"""
    return str(obj_id) in ADOPTED.get(client, set())


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


def create_or_adopt(
    what: str,
    create: Callable[[], dict[str, Any]],
    listing: Callable[[], Mapping[str, Mapping[str, Any]]],
    *,
    sleep: Sleep = time.sleep,
    snap: NameSnapshot | None = None,
    name: str = "",
    owner: str | None = None,
) -> tuple[dict[str, Any] | None, Mapping[str, Any] | None]:
    """Run ``create``; on an unknown outcome adopt the one new object ``listing`` shows.

    ``listing`` returns ``{id: object}`` for every object carrying the name being created.
    With ``snap`` (the per-process name snapshot) nothing is listed before the create; without
    it the name is listed first. Only objects created by ``owner`` (when known) are adopted.
    Returns ``(response, None)`` when the create answered, ``(None, object)`` when adopted.
    """
    if snap is None:
        try:
            before = set(_read(listing, sleep))
        except PermissionDeniedError:
            # No read permission: send the create anyway, so the error the user sees names the
            # permission the create needs; without a snapshot a lost response cannot be adopted.
            return create(), None
    else:
        snap.ensure(lambda fn: _read(fn, sleep))
        if snap.unavailable:
            return create(), None
        before = set(snap.named(name))
    last: SkyflowError | None = None
    for attempt in range(ATTEMPTS):
        try:
            return create(), None
        except SkyflowError as err:
            if not outcome_unknown(err):
                raise
            last = err
        now_named = _read(listing, sleep)
        if snap is not None:
            snap.replace_name(name, now_named)
        found = {k: v for k, v in now_named.items() if k not in before
                 and (owner is None or snapshots.creator_of(v) in (None, owner))}
        if len(found) == 1:
            obj_id, obj = next(iter(found.items()))
            log.warning("%s: the response was lost, adopting %s that it created", what, obj_id)
            return None, obj
        if len(found) > 1:
            raise AdoptionError(
                f"{what}: the response was lost and {len(found)} new objects now carry this "
                f"name ({', '.join(sorted(found))})", operation=what)
        if attempt < ATTEMPTS - 1:
            sleep(BACKOFF_S * 2 ** attempt)
    assert last is not None
    raise last


def _by_id(items: Iterable[Any], id_of: Callable[[Mapping[str, Any]], Any],
           keep: Callable[[Mapping[str, Any]], bool]) -> dict[str, Mapping[str, Any]]:
    return {str(id_of(i)): i for i in items if isinstance(i, Mapping) and id_of(i) and keep(i)}


# ----- service accounts and their keys -----------------------------------------------------------

def _sa_listing(client: Any, name: str) -> Callable[[], dict[str, Mapping[str, Any]]]:
    def listing() -> dict[str, Mapping[str, Any]]:
        items = [i.get("serviceAccount") or i for i in client.list_service_accounts(name=name)]
        return _by_id(items, lambda s: s.get("ID"),
                      lambda s: s.get("name") == name and s.get("status") != "DELETED")
    return listing


def _account_scope(client: Any) -> str:
    return str(getattr(getattr(client, "settings", None), "account_id", "") or "")


def sa_snapshot(client: Any) -> NameSnapshot:
    """This process's snapshot of the account's service accounts (one listing, all pages)."""
    return snapshots.snapshot(client, "serviceAccount", _account_scope(client),
                              lambda: client.list_service_accounts())


def role_snapshot(client: Any, vault_id: str, rtype: str = "VAULT") -> NameSnapshot:
    """This process's snapshot of a vault's roles (system roles included)."""
    return snapshots.snapshot(client, "role", f"{rtype}:{vault_id}",
                              lambda: client.list_roles(vault_id, resource_type=rtype))


def policy_snapshot(client: Any, vault_id: str, rtype: str = "VAULT") -> NameSnapshot:
    """This process's snapshot of a vault's policies."""
    return snapshots.snapshot(client, "policy", f"{rtype}:{vault_id}",
                              lambda: client.list_policies(vault_id, resource_type=rtype))


def _created(snap: NameSnapshot, kind: str, name: str, obj_id: str,
             resp: dict[str, Any]) -> dict[str, Any]:
    """Record a created object in the snapshot; add the namespace the response lacks when it
    can be derived from a listed sibling's (else the next refresh reads it)."""
    if obj_id:
        snap.add(name, obj_id)
        if not resp.get("namespace"):
            derived = snap.namespace_for(kind, obj_id)
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
    snap = sa_snapshot(client)
    resp, adopted = create_or_adopt(
        f"create service account {name!r}",
        lambda: client.create_service_account(body), _sa_listing(client, name), sleep=sleep,
        snap=snap, name=name, owner=snapshots.identity(client))
    if resp is not None:
        return _created(snap, "serviceAccount", name, str(resp.get("clientID") or ""), resp)
    assert adopted is not None
    sa_id = str(adopted["ID"])
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


def _mint(what: str, create: Callable[[], dict[str, Any]],
          list_ids: Callable[[], list[str]], delete: Callable[[str], Any],
          sleep: Sleep) -> dict[str, Any]:
    """Create a key; after a lost response delete the orphan key (its secret is gone), retry."""
    before = set(_read(list_ids, sleep))
    last: SkyflowError | None = None
    for attempt in range(ATTEMPTS):
        try:
            return create()
        except SkyflowError as err:
            if not outcome_unknown(err):
                raise
            last = err
        for orphan in set(_read(list_ids, sleep)) - before:
            log.warning("%s: the response was lost; deleting the orphan key %s", what, orphan)
            _delete_quietly(_bind(delete, orphan))
        if attempt < ATTEMPTS - 1:
            sleep(BACKOFF_S * 2 ** attempt)
    assert last is not None
    raise last


def create_key(client: Any, sa_id: str, *, sleep: Sleep = time.sleep) -> dict[str, Any]:
    """``client.create_key`` that never leaves a key whose private half was lost."""
    return _mint(f"create key for service account {sa_id}", lambda: client.create_key(sa_id),
                 lambda: [str(k.get("keyID")) for k in client.list_keys(sa_id)],
                 lambda k: client.delete_key(sa_id, k), sleep)


def create_api_key(client: Any, sa_id: str, *, sleep: Sleep = time.sleep) -> dict[str, Any]:
    """``client.create_api_key`` that never leaves an API key whose secret was lost."""
    return _mint(f"create API key for service account {sa_id}",
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

    def listing() -> dict[str, Mapping[str, Any]]:
        roles = client.list_roles(vault_id, resource_type=rtype, name=name)
        return _by_id(roles, lambda r: r.get("ID"),
                      lambda r: (r.get("definition") or {}).get("name") == name)

    snap = role_snapshot(client, vault_id, rtype)
    resp, adopted = create_or_adopt(f"create role {name!r}", lambda: client.create_role(body),
                                    listing, sleep=sleep, snap=snap, name=name,
                                    owner=snapshots.identity(client))
    if resp is not None:
        return _created(snap, "role", name, str(resp.get("ID") or ""), resp)
    return {"ID": str((adopted or {}).get("ID")), "adopted": True,
            "namespace": (adopted or {}).get("namespace") or ""}


def create_policy(client: Any, body: Mapping[str, Any], *, sleep: Sleep = time.sleep
                  ) -> dict[str, Any]:
    """``client.create_policy`` that adopts its own policy (same vault and name) after a loss."""
    name = str(body.get("name") or "")
    resource = body.get("resource") or {}
    vault_id, rtype = str(resource.get("ID") or ""), str(resource.get("type") or "VAULT")

    def listing() -> dict[str, Mapping[str, Any]]:
        policies = client.list_policies(vault_id, resource_type=rtype, name=name)
        return _by_id(policies, lambda p: p.get("ID"),
                      lambda p: p.get("name") == name and p.get("status") != "DELETED")

    snap = policy_snapshot(client, vault_id, rtype)
    resp, adopted = create_or_adopt(f"create policy {name!r}",
                                    lambda: client.create_policy(body), listing, sleep=sleep,
                                    snap=snap, name=name, owner=snapshots.identity(client))
    if resp is not None:
        return _created(snap, "policy", name, str(resp.get("ID") or ""), resp)
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

