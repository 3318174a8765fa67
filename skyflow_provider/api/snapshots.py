"""Name snapshots: the objects of one type that existed when this provider process first
created one, listed once per process instead of once per create.

Why: a create whose response is lost is recognised by "an object with our name that was not
there before" (``idempotency``). Listing before every create made that cost one call per object;
a snapshot taken once per provider process and object type (and vault, for roles and
policies) costs one listing per type per ``pulumi up``. It is refreshed only for a name whose
create had an unknown outcome (that listing is needed anyway), and every object this process
created is added to it as it is created.

The longer window (the snapshot may be minutes old) is covered by the creator check: an object
is only taken for ours when its ``BasicAudit.CreatedBy`` is this provider's own identity (or
Skyflow does not say), and names are unique within a stack.

The snapshot also serves what issue 16 needs at no extra cost: whether an object of the name
about to be created already exists, and who created it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..http.errors import PermissionDeniedError

Listing = Callable[[], Iterable[Any]]


def object_of(item: Any) -> Mapping[str, Any]:
    """List items of service accounts come wrapped (``{"serviceAccount": {...}}``)."""
    if isinstance(item, Mapping) and isinstance(item.get("serviceAccount"), Mapping):
        return item["serviceAccount"]
    return item if isinstance(item, Mapping) else {}


def name_of(obj: Mapping[str, Any]) -> str:
    """The name of a service account / policy (``name``) or role (``definition.name``)."""
    if obj.get("name"):
        return str(obj["name"])
    return str((obj.get("definition") or {}).get("name") or "")


def creator_of(obj: Mapping[str, Any]) -> str | None:
    """``BasicAudit.CreatedBy`` when Skyflow reports it."""
    audit = obj.get("BasicAudit") or obj.get("basicAudit") or {}
    who = audit.get("CreatedBy") if isinstance(audit, Mapping) else None
    return str(who) if who else None


def live(obj: Mapping[str, Any]) -> bool:
    return bool(obj.get("ID")) and str(obj.get("status") or "").upper() != "DELETED"


class NameSnapshot:
    """``{name: {id: object}}`` of one object type and scope, loaded once (single flight)."""

    def __init__(self, listing: Listing) -> None:
        self._listing = listing
        self._lock = threading.Lock()
        self._by_name: dict[str, dict[str, Mapping[str, Any]]] = {}
        self.loaded = False
        #: the listing was refused (no read permission): creates go ahead without one
        self.unavailable = False
        #: a ``namespace`` of a listed object, to derive new objects' namespaces from
        self.sample_namespace: tuple[str, str] | None = None

    def ensure(self, read: Callable[[Listing], Iterable[Any]]) -> NameSnapshot:
        """Load once; ``read`` runs the listing (with the caller's retries)."""
        if self.loaded:
            return self
        with self._lock:
            if self.loaded:
                return self
            try:
                items = list(read(self._listing))
            except PermissionDeniedError:
                self.unavailable = True
                items = []
            for item in items:
                self._remember(object_of(item))
            self.loaded = True
        return self

    def _remember(self, obj: Mapping[str, Any]) -> None:
        if not live(obj):
            return
        self._by_name.setdefault(name_of(obj), {})[str(obj["ID"])] = obj
        ns = obj.get("namespace")
        if self.sample_namespace is None and isinstance(ns, str) and ns:
            self.sample_namespace = (str(obj["ID"]), ns)

    def named(self, name: str) -> dict[str, Mapping[str, Any]]:
        """The live objects carrying ``name`` (as of the snapshot plus what was added)."""
        with self._lock:
            return dict(self._by_name.get(name, {}))

    def add(self, name: str, obj_id: str, obj: Mapping[str, Any] | None = None) -> None:
        """Record an object this process created (or adopted)."""
        with self._lock:
            self._by_name.setdefault(name, {})[obj_id] = dict(obj or {"ID": obj_id,
                                                                      "name": name})

    def forget(self, obj_id: str) -> None:
        """Drop a deleted object."""
        with self._lock:
            for objs in self._by_name.values():
                objs.pop(obj_id, None)

    def replace_name(self, name: str, objs: Mapping[str, Mapping[str, Any]]) -> None:
        """After a fresh name-filtered listing: that name's objects as Skyflow now has them."""
        with self._lock:
            self._by_name[name] = {k: v for k, v in objs.items() if live(v)}

    def namespace_for(self, kind: str, obj_id: str) -> str:
        """Derive a new object's namespace from a listed sibling's, when the sibling's ends in
        ``/<kind>:<its id>`` (the format in the spec's examples); else "" (the next refresh
        reads it)."""
        if self.sample_namespace is None:
            return ""
        sib_id, ns = self.sample_namespace
        tail = f"/{kind}:{sib_id}"
        if not ns.endswith(tail):
            return ""
        return ns[: -len(tail)] + f"/{kind}:{obj_id}"


_LOCK = threading.Lock()
_BY_CLIENT: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], NameSnapshot]] = \
    weakref.WeakKeyDictionary()


def snapshot(client: Any, kind: str, scope: str, listing: Listing) -> NameSnapshot:
    """The process-wide snapshot of ``kind`` objects in ``scope`` for this client."""
    with _LOCK:
        per_client = _BY_CLIENT.setdefault(client, {})
        snap = per_client.get((kind, scope))
        if snap is None:
            snap = per_client[(kind, scope)] = NameSnapshot(listing)
        return snap


def forget(client: Any, obj_id: str) -> None:
    """A deleted object leaves every snapshot of this client (a later create of its name must
    not see it)."""
    with _LOCK:
        snaps = list((_BY_CLIENT.get(client) or {}).values())
    for snap in snaps:
        snap.forget(str(obj_id))


def clear() -> None:
    """Forget every snapshot (tests; a long-lived process that wants a fresh view)."""
    with _LOCK:
        _BY_CLIENT.clear()


def identity(client: Any) -> str | None:
    """The provider's own Skyflow identity (its service account's id), when known.

    Known for service-account credentials (``clientID`` is the account's id, which Skyflow
    records as ``BasicAudit.CreatedBy``) and keyless (the STS token is the keyless account's);
    unknown for an API key or a bare bearer token.
    """
    settings = getattr(client, "settings", None)
    creds = getattr(settings, "credentials", None)
    who = getattr(creds, "client_id", None) or getattr(settings, "oidc_service_account_id", None)
    return str(who) if who else None


__all__ = ["NameSnapshot", "clear", "creator_of", "forget", "identity", "live", "name_of",
           "object_of", "snapshot"]
