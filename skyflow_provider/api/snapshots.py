"""What a create's answer lacks, derived at a constant cost: a namespace sample per process and
object type, and small readers of listed objects (name, creator).

Why: Skyflow's create responses carry no ``namespace`` (``v1CreateServiceAccountResponse``,
``v1CreateRoleResponse`` and ``v1CreatePolicyResponse`` have none), and a GET after every create
would cost one call per object. The spec's example namespaces end in ``/<type>:<id>`` under a
per-account prefix, so a new object's namespace is derived from one listed sibling's: one small
listing (a single short page) per provider process and object type, whatever the size of the
account. (A first design listed every object of the type once per process to find names as
well: 40 pages for 1000 accounts, docs/performance.md. Names are now looked up one at a time, and
only when a killed run or a lost answer makes it necessary: ``recovery/takeover.py``,
``idempotency``.)
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..http.errors import PermissionDeniedError, SkyflowError

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


def created_on(obj: Mapping[str, Any]) -> str:
    """``BasicAudit.CreatedOn``, or "an unknown time"."""
    audit = obj.get("BasicAudit") or obj.get("basicAudit") or {}
    when = audit.get("CreatedOn") if isinstance(audit, Mapping) else None
    return str(when or "an unknown time")


def live(obj: Mapping[str, Any]) -> bool:
    return bool(obj.get("ID")) and str(obj.get("status") or "").upper() != "DELETED"


class Sample:
    """One listed object's ``(id, namespace)`` of one type and scope, read once (single flight)."""

    def __init__(self, listing: Listing) -> None:
        self._listing = listing
        self._lock = threading.Lock()
        self.loaded = False
        self.value: tuple[str, str] | None = None

    def get(self) -> tuple[str, str] | None:
        if self.loaded:
            return self.value
        with self._lock:
            if not self.loaded:
                try:
                    items = list(self._listing())
                except PermissionDeniedError:
                    items = []  # no read permission: namespaces come with the next refresh
                except SkyflowError:
                    # The object was created already: a failed sample must not fail its create
                    # (and leave it unrecorded); its namespace comes with the next refresh.
                    return None
                for item in items:
                    obj = object_of(item)
                    ns = obj.get("namespace")
                    if live(obj) and isinstance(ns, str) and ns:
                        self.value = (str(obj["ID"]), ns)
                        break
                self.loaded = True
        return self.value


_LOCK = threading.Lock()
_BY_CLIENT: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], Sample]] = \
    weakref.WeakKeyDictionary()


def sample(client: Any, kind: str, scope: str, listing: Listing) -> Sample:
    """The process-wide namespace sample of ``kind`` objects in ``scope`` for this client."""
    with _LOCK:
        per_client = _BY_CLIENT.setdefault(client, {})
        found = per_client.get((kind, scope))
        if found is None:
            found = per_client[(kind, scope)] = Sample(listing)
        return found


def namespace_for(client: Any, kind: str, scope: str, listing: Listing, obj_id: str) -> str:
    """A new object's namespace from a listed sibling's, when the sibling's ends in
    ``/<kind>:<its id>`` (the format in the spec's examples); else "" (the next refresh
    reads it)."""
    got = sample(client, kind, scope, listing).get()
    if got is None:
        return ""
    sib_id, ns = got
    tail = f"/{kind}:{sib_id}"
    if not ns.endswith(tail):
        return ""
    return ns[: -len(tail)] + f"/{kind}:{obj_id}"


def clear() -> None:
    """Forget every sample (tests; a long-lived process that wants a fresh view)."""
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


__all__ = ["Sample", "clear", "created_on", "creator_of", "identity", "live", "name_of",
           "namespace_for", "object_of", "sample"]
