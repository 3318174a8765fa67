"""Management permissions in Skyflow's ``<object>.<verb>`` style, and what each role grants.

The spec names two permissions (``serviceAccount.create``, ``serviceAccount.update`` via
``x-permission``); the rest are defined here in the same style (see docs/emulator.md).
A grant matches a permission exactly, by ``<object>.*``, or by ``*``.
"""

from __future__ import annotations

from dataclasses import dataclass

SYSTEM_VAULT_ROLES: dict[str, tuple[str, str, list[str]]] = {
    # name: (displayName, description, permissions) -- granted on the role's vault only
    "VAULT_OWNER": ("Vault Owner", "Full control of the vault, its roles and policies",
                    ["vault.*", "role.*", "policy.*", "record.*"]),
    "VAULT_EDITOR": ("Vault Editor", "Reads and edits the vault and its data",
                     ["vault.read", "vault.update", "role.read", "policy.read", "record.*"]),
    "VAULT_VIEWER": ("Vault Viewer", "Reads the vault, its roles and policies",
                     ["vault.read", "role.read", "policy.read", "record.read"]),
    "PIPELINE_MANAGER": ("Pipeline Manager", "Manages the vault's pipelines",
                         ["vault.read", "pipeline.*"]),
    "CONNECTION_MANAGER": ("Connection Manager", "Manages the vault's connections",
                           ["vault.read", "connection.*"]),
}
SYSTEM_ACCOUNT_ROLES: dict[str, tuple[str, str, list[str]]] = {
    "ACCOUNT_ADMIN": ("Account Admin", "Full control of the account", ["*"]),
}

# Every permission an operation can require (the catalogue custom roles draw from).
CATALOGUE: list[str] = [
    "serviceAccount.create", "serviceAccount.read", "serviceAccount.update",
    "serviceAccount.delete",
    "serviceAccountKey.create", "serviceAccountKey.read", "serviceAccountKey.update",
    "serviceAccountKey.delete",
    "apiKey.create", "apiKey.read", "apiKey.update", "apiKey.delete",
    "role.create", "role.read", "role.update", "role.delete", "role.assign",
    "policy.create", "policy.read", "policy.update", "policy.delete", "policy.assign",
    "member.read", "audit.read",
    "vault.create", "vault.read", "vault.update", "vault.delete",
    "vaultTemplate.read",
    "workspace.create", "workspace.read", "workspace.update", "workspace.delete",
    "user.create", "user.read", "user.update", "user.delete",
    "stsConfig.create", "stsConfig.read", "stsConfig.update", "stsConfig.delete",
]


@dataclass(frozen=True)
class Target:
    """What an operation acts on: the account, one vault, or anything (``ANY``)."""

    type: str  # "ACCOUNT", "VAULT" or "ANY"
    id: str


@dataclass(frozen=True)
class Grant:
    permission: str
    resource_type: str
    resource_id: str


def matches(grant: str, permission: str) -> bool:
    if grant in ("*", permission):
        return True
    if grant.endswith(".*"):
        return permission.split(".", 1)[0] == grant[:-2]
    return False


def covers(grant: Grant, target: Target, account_id: str) -> bool:
    """Account-level grants cover everything in the account; vault grants only their vault."""
    if grant.resource_type == "ACCOUNT":
        return grant.resource_id == account_id
    if target.type == "ANY":
        return True
    return grant.resource_type == target.type and grant.resource_id == target.id


def allowed(grants: list[Grant], permission: str, target: Target, account_id: str) -> bool:
    return any(matches(g.permission, permission) and covers(g, target, account_id)
               for g in grants)


def expand(grants: list[Grant]) -> list[str]:
    """Concrete permissions from grants (wildcards resolved against the catalogue)."""
    out: set[str] = set()
    for g in grants:
        if "*" in g.permission:
            out.update(p for p in CATALOGUE if matches(g.permission, p))
            if g.permission != "*":
                out.add(g.permission)
        else:
            out.add(g.permission)
    return sorted(out)
