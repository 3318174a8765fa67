"""Creates of vaults and users that survive a lost response (the mechanism, and the identity
objects' creates: ``idempotency.py``).

A vault is recognised by its name in its workspace (names are unique there), a user by its email
(unique in the account); otherwise exactly as ``idempotency.create_or_adopt`` does for service
accounts, roles and policies: after a lost answer, the one object of the name this process's
token created (Skyflow's audit log) is adopted.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from . import audit
from .idempotency import (
    Named,
    Sleep,
    _created,
    _named,
    create_or_adopt,
    made,
    made_here,
    process_proof,
)


def vault_listing(client: Any, workspace_id: str, name: str) -> Named:
    """The vaults named ``name`` in a workspace (one name-filtered listing)."""
    return _named(lambda: client.list_vaults(workspace_id, name=name), name)


def create_vault(client: Any, body: Mapping[str, Any], *, sleep: Sleep = time.sleep
                 ) -> dict[str, Any]:
    """``client.create_vault`` that adopts its own vault (same workspace and name) after a
    lost response."""
    name = str(body.get("name") or "")
    workspace_id = str(body.get("workspaceID") or "")
    resp, adopted = create_or_adopt(
        f"create vault {name!r}", lambda: client.create_vault(body),
        vault_listing(client, workspace_id, name), sleep=sleep,
        proof=process_proof(client, audit.VAULTS), known=lambda: made_here(client))
    if resp is not None:
        return _created(client, "vault", f"WORKSPACE:{workspace_id}",
                        lambda: client.list_vaults(workspace_id, max_items=1),
                        str(resp.get("ID") or ""), resp)
    made(client, str((adopted or {}).get("ID")))
    return {"ID": str((adopted or {}).get("ID")), "adopted": True}


def user_email(user: Mapping[str, Any]) -> str:
    """A user's email, the name it is recognised by (lower case: unique per account)."""
    return str((user.get("userIdentity") or {}).get("email") or "").lower()


def _by_email(users: Iterable[Any]) -> list[dict[str, Any]]:
    return [{**u, "name": user_email(u)} for u in users if isinstance(u, Mapping)]


def user_listing(client: Any, email: str) -> Named:
    """The users of ``email`` (one filtered listing), each named by its email."""
    return _named(lambda: _by_email(client.list_users(email=email)), email.lower())


def create_user(client: Any, body: Mapping[str, Any], *, sleep: Sleep = time.sleep
                ) -> dict[str, Any]:
    """``client.create_user`` that adopts its own user (same email) after a lost response."""
    email = user_email(body.get("user") or {})
    resp, adopted = create_or_adopt(
        f"create user {email!r}", lambda: client.create_user(body), user_listing(client, email),
        sleep=sleep, proof=process_proof(client, audit.USERS), known=lambda: made_here(client))
    if resp is not None:
        made(client, str(resp.get("ID") or ""))
        return resp
    made(client, str((adopted or {}).get("ID")))
    return {"ID": str((adopted or {}).get("ID")), "adopted": True}
