"""What a member's roles grant: the permissions behind management and Data API decisions."""

from __future__ import annotations

from ..cel import Env, evaluate
from ..permissions import Grant, expand
from ..store import Tx


def member_grants(tx: Tx, member_id: str, only_roles: list[str] | None = None,
                  env: Env | None = None, member_type: str = "SERVICE_ACCOUNT") -> list[Grant]:
    """Grants from the roles assigned to a member (restricted to a token's scope if any).

    With a request ``env``, an assignment's CEL condition must hold for its role to count;
    without one (listing a member's permissions) conditional roles are included.
    """
    grants: list[Grant] = []
    for role_id, condition in tx.roles_of(member_id, member_type):
        if only_roles is not None and role_id not in only_roles:
            continue
        if condition and env is not None and not evaluate(condition, env):
            continue
        role = tx.get("role", role_id)
        if role is None:
            continue
        res = role["resource"]
        for perm in role["definition"].get("permissions") or []:
            grants.append(Grant(perm, res["type"], res["ID"]))
    return grants


def member_permissions(tx: Tx, member_id: str, member_type: str = "SERVICE_ACCOUNT") -> list[str]:
    return expand(member_grants(tx, member_id, member_type=member_type))
