"""make bench stack: N service accounts, each with one VAULT_VIEWER role assignment.

Config (set by benchmarks/run.py): ``mode`` (``skyflow``, ``floor``: same shape, no API,
``wire``: the floor plus one Management API GET per provider call, or ``wire_create``: the same
but each create POSTs the server's cheapest create and each delete DELETEs it again),
``n``, ``prefix`` (unique Skyflow names per run), ``rev`` (changing it updates every
display_name in place), ``vaultId``; ``shape`` (create costs, default ``pairs``): ``pairs`` as
above, ``accounts`` (N service accounts alone; ``apikeys``: the same with API keys),
``plain`` (N do-nothing resources with three string inputs, the floor whatever ``mode`` says),
``auth`` (``api_key``: the accounts of ``pairs`` are API-key accounts),
``rbac`` (N roles, N policies, each policy attached to its role).
"""

from typing import Any

import pulumi

cfg = pulumi.Config()
mode = cfg.require("mode")
n = cfg.require_int("n")
prefix = cfg.require("prefix")
rev = cfg.get("rev") or "a"
vault_id = cfg.require("vaultId")
shape = cfg.get("shape") or "pairs"

if shape == "plain":
    from benchmarks.floor_provider import Plain

    for i in range(n):
        name = f"{prefix}-sa-{i:04d}"
        Plain(f"p-{i}", name=name, display_name=f"{name} rev {rev}", description="make bench")
elif shape == "rbac":
    from skyflow_provider import Policy, PolicyAssignment, Role

    for i in range(n):
        role = Role(f"role-{i}", vault_id=vault_id, name=f"{prefix}-role-{i:04d}",
                    description=f"make bench rev {rev}",
                    permissions=["vault.read", "record.read"])
        policy = Policy(f"policy-{i}", vault_id=vault_id,
                        name=f"{prefix.replace('-', '')}pol{i:04d}",
                        rules=[{"name": "ReadMasked", "rule_expression":
                                "ALLOW READ ON persons.* WITH REDACTION = MASKED"}])
        PolicyAssignment(f"pa-{i}", policy_id=policy.id, role_ids=[role.id])
else:
    if mode == "skyflow":
        from skyflow_provider import RoleAssignment as Assignment
        from skyflow_provider import ServiceAccount as Account
    else:
        from benchmarks.floor_provider import FloorAccount as Account  # type: ignore[assignment]
        from benchmarks.floor_provider import (  # type: ignore[assignment]
            FloorAssignment as Assignment,
        )

    wire: dict[str, Any] = {"wire": {"wire": True, "wire_create": "create"}[mode]} \
        if mode in ("wire", "wire_create") else {}
    api_keys = shape == "apikeys" or cfg.get("auth") == "api_key"
    extra: dict[str, Any] = {"auth_type": "api_key"} if api_keys else {}
    for i in range(n):
        name = f"{prefix}-sa-{i:04d}"
        sa = Account(f"sa-{i}", name=name, display_name=f"{name} rev {rev}",
                     description="make bench", **wire, **extra)
        if shape == "pairs":
            Assignment(f"ra-{i}", service_account_id=sa.id, vault_id=vault_id,
                       role_name="VAULT_VIEWER", **wire)
