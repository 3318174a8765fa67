"""Issue 27 end to end: one vault from the ``vault`` config object, and the ``users`` (people)
with roles on it. ``workspace`` (a name) is looked up with get_workspace; without it the vault
goes to the account's only workspace."""

from __future__ import annotations

import pulumi

from skyflow_provider import RoleAssignment, User, Vault, get_workspace

config = pulumi.Config()
spec = config.require_object("vault")
workspace = config.get("workspace")

vault = Vault(
    "main",
    name=spec["name"],
    description=spec.get("description"),
    workspace_id=get_workspace(name=workspace).id if workspace else None,
    schema=spec.get("schema"),
    deletion_protection=spec.get("deletion_protection", True),
    allow_destructive_schema_changes=spec.get("allow_destructive_schema_changes"),
)

for person in config.get_object("users") or []:
    user = User(person["key"], email=person["email"], name=person["name"],
                active=person.get("active"))
    for role in person.get("roles") or []:
        RoleAssignment(f"{person['key']}-{role.lower()}", vault_id=vault.id, role_name=role,
                       member_id=user.id, member_type="USER")
    pulumi.export(f"{person['key']}_id", user.id)

pulumi.export("vault_id", vault.id)
pulumi.export("vault_url", vault.vault_url)
pulumi.export("cluster_id", vault.cluster_id)
pulumi.export("workspace_id", vault.workspace_id)
