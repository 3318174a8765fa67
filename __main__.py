"""Reference stack: Skyflow service identities declared from stack config.

Config (project namespace ``skyflow-identities``; see docs/resources.md):

* ``services``: list of ``{name, auth_type: jwt|api_key, roles: [...], description?,
  enforce_context_id?, condition?, rotation_trigger?, rotate_after_days?, overlap_hours?,
  adopt_id?, exclusive_keys?}``; a role is a system role name (VAULT_EDITOR, ...) or a key of
  ``customRoles``.
* ``customRoles``: map key -> ``{display_name?, description?, permissions?, levels?}``.
* ``policies``: map key -> ``{description?, roles: [...], rules: [...], active?}``; a policy
  key and rule names use letters and digits only.
* ``namePrefix``: prefix for every Skyflow name (default: the stack name), so stacks sharing
  an account never collide.

* ``vault``: ``{name?, description?, schema: {tables: [...], tags?}, deletion_protection?,
  allow_destructive_schema_changes?}``: the vault the identities exist for, created from this
  schema (name ``<prefix>-<name>``, default name ``vault``). deletion_protection stays on unless
  set to false.

With none of services/customRoles/policies set, the built-in default below is used.
Vault: the ``vault`` config above; without it, an existing vault from ``skyflow:vaultId`` or env
``SKYFLOW_VAULT_ID`` (for accounts whose vault predates the stack). Outputs per service:
``<service>_client_id`` and, as secrets, ``<service>_credentials`` (JWT) or ``<service>_api_key``;
``vault_id``, and with a created vault its ``vault_url``.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pulumi

from skyflow_provider import (
    Policy,
    PolicyAssignment,
    Role,
    RoleAssignment,
    ServiceAccount,
    Vault,
    get_system_role,
)
from skyflow_provider.resources.role_lookup import SYSTEM_ROLES

DEFAULT_SERVICES: list[dict[str, Any]] = [
    {"name": "payments-api", "auth_type": "jwt", "roles": ["VAULT_EDITOR"],
     "description": "Payments API: reads and writes card data"},
    {"name": "analytics-etl", "auth_type": "jwt", "roles": ["analytics-reader"],
     "description": "Nightly analytics export: read-only, PII masked"},
    {"name": "legacy-batch", "auth_type": "api_key", "roles": ["VAULT_VIEWER"],
     "description": "Legacy batch importer (API key)"},
]
DEFAULT_CUSTOM_ROLES: dict[str, dict[str, Any]] = {
    "analytics-reader": {
        "display_name": "Analytics reader",
        "description": "Read-only access to records; PII comes back masked",
        "permissions": ["vault.read", "record.read"],
    },
}
DEFAULT_POLICIES: dict[str, dict[str, Any]] = {
    "AnalyticsPiiMasked": {
        "description": "Analytics may read persons, with PII masked",
        "roles": ["analytics-reader"],
        "rules": [
            {"name": "ReadPersonsMasked",
             "rule_expression": "ALLOW READ ON persons.* WITH REDACTION = MASKED"},
            {"name": "DenySsn", "effect": "DENY", "actions": ["READ"],
             "columns": ["persons.ssn"]},
        ],
    },
}


class StackConfigError(pulumi.RunError):
    """A problem in this stack's config; the message names the key and the fix.

    A ``pulumi.RunError`` is reported by the SDK as its message alone, without a traceback.
    """


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def _alnum(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "", text)


def load_config() -> tuple[str, str, dict[str, Any] | None, list[dict[str, Any]],
                         dict[str, Any], dict[str, Any]]:
    cfg = pulumi.Config()
    sky = pulumi.Config("skyflow")
    prefix = cfg.get("namePrefix")
    if prefix is None:
        prefix = pulumi.get_stack()
    vault_spec = cfg.get_object("vault")
    if vault_spec is not None and sky.get("vaultId"):
        raise StackConfigError(
            "Both skyflow-identities:vault (create the vault) and skyflow:vaultId (use an "
            "existing vault) are set; remove one of them")
    vault_id = sky.get("vaultId") or os.environ.get("SKYFLOW_VAULT_ID") or ""
    if vault_spec is None and not vault_id:
        raise StackConfigError(
            "No vault: declare one in skyflow-identities:vault (a schema), or use an existing "
            "one with `pulumi config set skyflow:vaultId <vault id>` or SKYFLOW_VAULT_ID (make "
            "up sets it to the emulator's vault)"
        )
    if vault_spec is not None and not isinstance(vault_spec, dict):
        raise StackConfigError("skyflow-identities:vault must be an object: {name, description, "
                               "schema: {tables: [...]}, deletion_protection}")
    services = cfg.get_object("services")
    roles = cfg.get_object("customRoles")
    policies = cfg.get_object("policies")
    if services is None and roles is None and policies is None:
        services, roles, policies = DEFAULT_SERVICES, DEFAULT_CUSTOM_ROLES, DEFAULT_POLICIES
    return (prefix, vault_id, vault_spec, list(services or []), dict(roles or {}),
            dict(policies or {}))


def declare_vault(spec: dict[str, Any], dash: str) -> Vault:
    """The stack's vault from its config (deletion_protection on unless set to false)."""
    protection = spec.get("deletion_protection", True)
    if not isinstance(protection, bool):
        raise StackConfigError("vault.deletion_protection must be true or false")
    return Vault(
        "vault",
        name=f"{dash}{spec.get('name') or 'vault'}",
        description=spec.get("description"),
        workspace_id=spec.get("workspace_id"),
        schema=spec.get("schema"),
        template_id=spec.get("template_id"),
        deletion_protection=protection,
        allow_destructive_schema_changes=spec.get("allow_destructive_schema_changes"),
    )


def main() -> None:
    prefix, existing_vault, vault_spec, services, custom_roles, policies = load_config()
    dash = f"{prefix}-" if prefix else ""
    vault_id: pulumi.Input[str] = existing_vault
    if vault_spec is not None:
        vault = declare_vault(vault_spec, dash)
        vault_id = vault.id
        pulumi.export("vault_url", vault.vault_url)

    role_ids: dict[str, pulumi.Output[str]] = {}
    for key, spec in sorted(custom_roles.items()):
        spec = spec or {}
        role = Role(
            f"role-{key}",
            vault_id=vault_id,
            name=spec.get("name") or f"{dash}{key}",
            display_name=spec.get("display_name"),
            description=spec.get("description"),
            permissions=spec.get("permissions"),
            levels=spec.get("levels"),
        )
        role_ids[key] = role.id

    def role_ref(ref: str, where: str) -> dict[str, Any]:
        """RoleAssignment arguments for a custom role key or a system role name."""
        if ref in role_ids:
            return {"role_id": role_ids[ref]}
        if ref in SYSTEM_ROLES:
            return {"vault_id": vault_id, "role_name": ref}
        raise StackConfigError(
            f"{where}: role {ref!r} is neither a customRoles key ({', '.join(sorted(role_ids))}) "
            f"nor a system role ({', '.join(SYSTEM_ROLES)})"
        )

    for key, spec in sorted(policies.items()):
        spec = spec or {}
        policy = Policy(
            f"policy-{key}",
            vault_id=vault_id,
            name=spec.get("name") or _alnum(prefix) + _alnum(key),
            display_name=spec.get("display_name"),
            description=spec.get("description"),
            rules=spec.get("rules") or [],
            active=spec.get("active"),
        )
        targets = []
        for ref in spec.get("roles") or []:
            ref_args = role_ref(ref, f"policies.{key}.roles")
            # A created vault's id is an Output: its look-ups are named by role alone.
            targets.append(ref_args.get("role_id") or get_system_role(
                vault_id, ref, None if isinstance(vault_id, str) else f"system-role-{_slug(ref)}"))
        if targets:
            PolicyAssignment(f"policy-{key}-roles", policy_id=policy.id, role_ids=targets)

    seen: set[str] = set()
    for i, svc in enumerate(services):
        name = (svc or {}).get("name")
        if not isinstance(name, str) or not name:
            raise StackConfigError(f"services[{i}].name is required")
        if name in seen:
            raise StackConfigError(f"services[{i}].name {name!r} is listed twice")
        seen.add(name)
        auth_type = svc.get("auth_type") or "jwt"
        sa = ServiceAccount(
            name,
            name=f"{dash}{name}",
            display_name=svc.get("display_name") or (f"{name} ({prefix})" if prefix else name),
            description=svc.get("description"),
            auth_type=auth_type,
            enforce_context_id=svc.get("enforce_context_id"),
            enforce_signed_data_tokens=svc.get("enforce_signed_data_tokens"),
            ip_allowlist=svc.get("ip_allowlist"),
            # Credential lifecycle (docs/rotation.md): rotate on a trigger or a schedule, with
            # the previous key kept valid for overlap_hours; adopt an existing account.
            rotation_trigger=svc.get("rotation_trigger"),
            rotate_after_days=svc.get("rotate_after_days"),
            overlap_hours=svc.get("overlap_hours"),
            adopt_id=svc.get("adopt_id"),
            exclusive_keys=svc.get("exclusive_keys"),
        )
        for ref in svc.get("roles") or []:
            RoleAssignment(
                f"{name}-{_slug(ref)}",
                service_account_id=sa.id,
                condition=svc.get("condition"),
                **role_ref(ref, f"services[{i}].roles"),
            )
        pulumi.export(f"{name}_client_id", sa.client_id)
        if auth_type == "api_key":
            pulumi.export(f"{name}_api_key", pulumi.Output.secret(sa.api_key))
        else:
            pulumi.export(f"{name}_credentials", pulumi.Output.secret(sa.credentials))

    pulumi.export("vault_id", vault_id)
    pulumi.export("name_prefix", prefix)


main()
