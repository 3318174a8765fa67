"""Creates of vaults and users that survive a lost response (the mechanism, and the identity
objects' creates: ``idempotency.py``).

A vault is recognised by its name in its workspace (names are unique there), a user by its email
(unique in the account); otherwise exactly as ``idempotency.create_or_adopt`` does for service
accounts, roles and policies.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from . import snapshots
from .idempotency import Sleep, _account_scope, _by_id, _created, create_or_adopt
from .snapshots import NameSnapshot


def vault_snapshot(client: Any, workspace_id: str) -> NameSnapshot:
    """This process's snapshot of a workspace's vaults (names are unique per workspace)."""
    return snapshots.snapshot(client, "vault", f"WORKSPACE:{workspace_id}",
                              lambda: client.list_vaults(workspace_id))


def create_vault(client: Any, body: Mapping[str, Any], *, sleep: Sleep = time.sleep
                 ) -> dict[str, Any]:
    """``client.create_vault`` that adopts its own vault (same workspace and name) after a
    lost response."""
    name = str(body.get("name") or "")
    workspace_id = str(body.get("workspaceID") or "")

    def listing() -> dict[str, Mapping[str, Any]]:
        return _by_id(client.list_vaults(workspace_id, name=name), lambda v: v.get("ID"),
                      lambda v: v.get("name") == name and v.get("status") != "DELETED")

    snap = vault_snapshot(client, workspace_id)
    resp, adopted = create_or_adopt(f"create vault {name!r}", lambda: client.create_vault(body),
                                    listing, sleep=sleep, snap=snap, name=name,
                                    owner=snapshots.identity(client))
    if resp is not None:
        return _created(snap, "vault", name, str(resp.get("ID") or ""), resp)
    return {"ID": str((adopted or {}).get("ID")), "adopted": True}


def user_email(user: Mapping[str, Any]) -> str:
    """A user's email, the name its snapshot files it under (lower case: unique per account)."""
    return str((user.get("userIdentity") or {}).get("email") or "").lower()


def _by_email(users: Iterable[Any]) -> list[dict[str, Any]]:
    return [{**u, "name": user_email(u)} for u in users if isinstance(u, Mapping)]


def user_snapshot(client: Any) -> NameSnapshot:
    """This process's snapshot of the account's users, filed by email."""
    return snapshots.snapshot(client, "user", _account_scope(client),
                              lambda: _by_email(client.list_users()))


def create_user(client: Any, body: Mapping[str, Any], *, sleep: Sleep = time.sleep
                ) -> dict[str, Any]:
    """``client.create_user`` that adopts its own user (same email) after a lost response."""
    email = user_email(body.get("user") or {})

    def listing() -> dict[str, Mapping[str, Any]]:
        return _by_id(_by_email(client.list_users(email=email)), lambda u: u.get("ID"),
                      lambda u: u.get("name") == email and u.get("status") != "DELETED")

    snap = user_snapshot(client)
    resp, adopted = create_or_adopt(f"create user {email!r}", lambda: client.create_user(body),
                                    listing, sleep=sleep, snap=snap, name=email,
                                    owner=snapshots.identity(client))
    if resp is not None:
        if resp.get("ID"):
            snap.add(email, str(resp["ID"]))
        return resp
    return {"ID": str((adopted or {}).get("ID")), "adopted": True}
