"""Scoped, context-aware tokens: one service account, two roles, one role per token.

A service that acts for many end users (a support console, an API gateway) holds two roles
here: VAULT_VIEWER (read the vault, its roles and policies) and PIPELINE_MANAGER (run
pipelines). Each bearer token it mints is

* **scoped** to the one role the task needs (``scope=role:<id>``), so a token leaked from the
  pipeline job cannot read the vault's roles, and
* **context-aware**: ``enforce_context_id=True`` makes Skyflow refuse any token request whose
  assertion lacks a ``ctx`` claim; the context (an end-user id, a request id) is carried into
  the token as ``context_identifier`` for audit logs and conditional policies.

Outputs: ``client_id``, ``credentials`` (secret: credentials.json), and the two role ids a
client passes to ``skyflow-token --role`` / ``role_ids``. Config: ``namePrefix`` (default: the
stack name); the vault from ``skyflow:vaultId`` or env ``SKYFLOW_VAULT_ID``.
"""

from __future__ import annotations

import os

import pulumi

from skyflow_provider import RoleAssignment, ServiceAccount

cfg = pulumi.Config()
prefix = cfg.get("namePrefix") or pulumi.get_stack()
vault_id = pulumi.Config("skyflow").get("vaultId") or os.environ.get("SKYFLOW_VAULT_ID")
if not vault_id:
    raise ValueError("no vault: set `pulumi config set skyflow:vaultId <id>` or SKYFLOW_VAULT_ID")

service = ServiceAccount(
    "support-console",
    name=f"{prefix}-support-console",
    display_name="Support console",
    description="Acts for support agents; every token names the agent (ctx)",
    enforce_context_id=True,
)

roles = {
    "viewer": RoleAssignment("support-console-vault-viewer", vault_id=vault_id,
                             role_name="VAULT_VIEWER", service_account_id=service.id),
    "pipeline": RoleAssignment("support-console-pipeline-manager", vault_id=vault_id,
                               role_name="PIPELINE_MANAGER", service_account_id=service.id),
}

pulumi.export("client_id", service.client_id)
pulumi.export("credentials", pulumi.Output.secret(service.credentials))
pulumi.export("viewer_role_id", roles["viewer"].resolved_role_id)
pulumi.export("pipeline_role_id", roles["pipeline"].resolved_role_id)
pulumi.export("vault_id", vault_id)
