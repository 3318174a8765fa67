"""Finding a vault role's id by name, with system-role ids cached per process.

Why shared: ``SystemRole`` and ``RoleAssignment(vault_id=..., role_name=...)`` both resolve names,
and N assignments of VAULT_VIEWER should list the vault's roles once, not N times.
"""

from __future__ import annotations

import threading
from typing import Any

from .field_groups import SYSTEM_ROLE_NAME

SYSTEM_ROLES = SYSTEM_ROLE_NAME.values

# System-role ids per process: (settings identity, vault id, name) -> id. System roles cannot be
# deleted or renamed, so N assignments of VAULT_VIEWER list the vault's roles once, not N times.
# Custom roles are never cached (they can be deleted and recreated under the same name).
_ROLE_ID_CACHE: dict[tuple[Any, ...], str] = {}
_ROLE_ID_LOCKS: dict[tuple[Any, ...], threading.Lock] = {}
_ROLE_ID_GUARD = threading.Lock()


def _settings_identity(client: Any) -> tuple[Any, ...] | None:
    """Which Skyflow account the client talks to; None (no caching) when it cannot tell."""
    settings = getattr(client, "settings", None)
    url, account = (getattr(settings, "management_url", None),
                    getattr(settings, "account_id", None))
    if not url or not account:
        return None
    return (str(url), str(account))


def _lookup_role(client: Any, vault_id: str, name: str, system_only: bool
                 ) -> tuple[str | None, bool]:
    """(id, is a system role) of the vault role named ``name``."""
    roles = client.list_roles(vault_id, resource_type="VAULT", name=name)
    for role in roles or []:
        definition = role.get("definition") or {}
        if definition.get("name") != name:
            continue
        system = definition.get("type") in (None, "", "SYSTEM")
        if system_only and not system:
            continue
        if role.get("ID"):
            return str(role["ID"]), definition.get("type") == "SYSTEM"
    return None, False


def find_role_id(client: Any, vault_id: str, name: str, system_only: bool = True) -> str | None:
    """The id of the vault role named ``name`` (None when absent).

    System roles (``definition.type == "SYSTEM"``) are remembered for the life of the process;
    concurrent callers for the same key wait for one lookup instead of each listing the roles.
    """
    identity = _settings_identity(client)
    if identity is None:
        return _lookup_role(client, vault_id, name, system_only)[0]
    key = (identity, vault_id, name)
    cached = _ROLE_ID_CACHE.get(key)
    if cached is not None:
        return cached
    with _ROLE_ID_GUARD:
        lock = _ROLE_ID_LOCKS.setdefault(key, threading.Lock())
    with lock:
        cached = _ROLE_ID_CACHE.get(key)
        if cached is not None:
            return cached
        role_id, system = _lookup_role(client, vault_id, name, system_only)
        if role_id and system:
            _ROLE_ID_CACHE[key] = role_id
        return role_id


def forget_role_id(role_id: str) -> None:
    """Drop a cached id (e.g. after a 404 for it: the vault is gone)."""
    with _ROLE_ID_GUARD:
        for key in [k for k, v in _ROLE_ID_CACHE.items() if v == role_id]:
            _ROLE_ID_CACHE.pop(key, None)
