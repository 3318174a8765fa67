"""Scoped, context-aware tokens: one service account, two roles, one role per token.

A service that acts for many end users (a support console, an API gateway) holds two roles
here: VAULT_VIEWER (read the vault, its roles and policies) and PIPELINE_MANAGER (run
pipelines). Each bearer token it mints is

* **scoped** to the one role the task needs (``scope=role:<id>``), so a token leaked from the
  pipeline job cannot read the vault's roles, and
* **context-aware**: ``enforce_context_id=True`` makes Skyflow refuse any token request whose
  assertion lacks a ``ctx`` claim; the context (an end-user id, a request id) is carried into
  the token as ``context_identifier`` for audit logs and conditional policies.

The VAULT_VIEWER assignment is also conditional on the context (``request.context.team ==
'support'``): the context is not only logged, it decides what the token may do.

Outputs: ``client_id``, ``credentials`` (secret: credentials.json), and the two role ids a
client passes to ``skyflow-token --role`` / ``role_ids``. Config: ``team`` (default
``support``), ``namePrefix`` (default: the stack name); the vault from ``skyflow:vaultId`` or
env ``SKYFLOW_VAULT_ID``.
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

# The context is also what conditional assignments test: VAULT_VIEWER counts only for tokens
# whose ctx says they act for the support team (a string ctx, or another team, gets nothing).
team = cfg.get("team") or "support"
if not team.replace("-", "").isalnum():
    raise ValueError(f"team {team!r}: letters, digits and '-' only (it goes into a CEL string)")
roles = {
    "viewer": RoleAssignment("support-console-vault-viewer", vault_id=vault_id,
                             role_name="VAULT_VIEWER", service_account_id=service.id,
                             condition=f"request.context.team == '{team}'"),
    "pipeline": RoleAssignment("support-console-pipeline-manager", vault_id=vault_id,
                               role_name="PIPELINE_MANAGER", service_account_id=service.id),
}

pulumi.export("client_id", service.client_id)
pulumi.export("credentials", pulumi.Output.secret(service.credentials))
pulumi.export("viewer_role_id", roles["viewer"].resolved_role_id)
pulumi.export("pipeline_role_id", roles["pipeline"].resolved_role_id)
pulumi.export("viewer_condition", roles["viewer"].condition)
pulumi.export("vault_id", vault_id)
