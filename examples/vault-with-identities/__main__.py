"""A vault with everything that may touch it, as one program.

Skyflow's own CLI provisions "a vault from a schema file, a service account, and the VAULT_OWNER
assignment between them". This is that, declared and kept: the vault exists for these
identities, and every identity's access is in the same pull request as the table it touches.

* ``Vault``: two tables from a typed schema (a masked column, a redacted one, an integer one),
  in the account's only workspace; ``deletion_protection`` from config (default on);
* ``ServiceAccount`` + ``RoleAssignment(VAULT_EDITOR)``: the payments service writes records;
* ``Role`` + ``Policy`` + ``PolicyAssignment``: a custom role whose policy reads the ``persons``
  table only, with its columns masked, and a service account holding it;
* ``User`` + ``RoleAssignment(VAULT_VIEWER, member_type="USER")``: a person who reads the vault.

Config: ``deletionProtection`` (default true), ``viewerEmail``, ``namePrefix`` (default: the
stack name). Outputs: the vault's id and URL (what Skyflow's data-plane SDKs take), each
service's client id and credentials (secret), the person's user id.
"""

from __future__ import annotations

import pulumi

from skyflow_provider import (
    Policy,
    PolicyAssignment,
    PolicyRuleArgs,
    Role,
    RoleAssignment,
    ServiceAccount,
    User,
    Vault,
    VaultColumnArgs,
    VaultSchemaArgs,
    VaultTableArgs,
)

cfg = pulumi.Config()
prefix = cfg.get("namePrefix") or pulumi.get_stack()
MASK = {"skyflow.options.default_dlp_policy": ["MASK"]}
REDACT = {"skyflow.options.default_dlp_policy": ["REDACT"]}

vault = Vault(
    "vault",
    name=f"{prefix}-customers",
    description="Customers and their cards",
    schema=VaultSchemaArgs(tables=[
        VaultTableArgs(name="persons", columns=[
            VaultColumnArgs(name="name", tags=MASK),
            VaultColumnArgs(name="email", tags=MASK),
            VaultColumnArgs(name="ssn", tags=REDACT),
        ]),
        VaultTableArgs(name="cards", columns=[
            VaultColumnArgs(name="number", tags=MASK),
            VaultColumnArgs(name="expiry_year", datatype="DT_INT32"),
        ]),
    ]),
    deletion_protection=cfg.get_bool("deletionProtection") is not False,
)

# The payments service writes records: VAULT_EDITOR, the vault's own system role.
payments = ServiceAccount("payments", name=f"{prefix}-payments",
                          description="Writes customers and cards")
RoleAssignment("payments-editor", vault_id=vault.id, role_name="VAULT_EDITOR",
               service_account_id=payments.id)

# Support reads people, masked, and nothing else: a custom role and a policy on one table.
support_role = Role("support-reader", vault_id=vault.id, name=f"{prefix}-support-reader",
                    description="Reads persons, masked", permissions=["record.read"])
policy = Policy("support-persons-masked", vault_id=vault.id,
                name="".join(ch for ch in prefix if ch.isalnum()) + "SupportPersonsMasked",
                description="Support reads the persons table, masked",
                rules=[PolicyRuleArgs(name="ReadPersonsMasked", actions=["READ"],
                                      columns=["persons.*"], redaction="MASKED")])
PolicyAssignment("support-persons-masked-roles", policy_id=policy.id,
                 role_ids=[support_role.id])
support = ServiceAccount("support", name=f"{prefix}-support",
                         description="Support tool: reads persons, masked")
RoleAssignment("support-reader", role_id=support_role.id, service_account_id=support.id)

# A person who looks at the vault in Studio.
viewer = User("viewer", email=cfg.get("viewerEmail") or "ada@example.com", name="Vault viewer")
RoleAssignment("viewer-vault-viewer", vault_id=vault.id, role_name="VAULT_VIEWER",
               member_id=viewer.id, member_type="USER")

pulumi.export("vault_id", vault.id)
pulumi.export("vault_url", vault.vault_url)
pulumi.export("payments_client_id", payments.client_id)
pulumi.export("payments_credentials", pulumi.Output.secret(payments.credentials))
pulumi.export("support_client_id", support.client_id)
pulumi.export("support_credentials", pulumi.Output.secret(support.credentials))
pulumi.export("viewer_id", viewer.id)
