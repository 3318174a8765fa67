"""An API-key service: a service account that authenticates with API keys, not JWTs.

Some clients (legacy batch jobs, tools that can only send a static header) cannot sign JWT
assertions. Skyflow gives such a service account an API key, sent as ``Authorization: Bearer
<api key>``. This program declares:

* ``ServiceAccount(auth_type="api_key")``: creation returns its first API key (secret);
* ``ApiKey``: a second key, so clients can move to it before the first one is revoked; change
  its ``keepers`` to rotate (a new key replaces the old one);
* ``RoleAssignment``: the one vault role the keys act with (default VAULT_VIEWER). A key can do
  exactly what that role grants, nothing else.

Config: ``role`` (default VAULT_VIEWER), ``namePrefix`` (default: the stack name), the vault
from ``skyflow:vaultId`` or env ``SKYFLOW_VAULT_ID``. Both keys are exported as secrets.
"""

from __future__ import annotations

import os

import pulumi

from skyflow_provider import ApiKey, RoleAssignment, ServiceAccount

cfg = pulumi.Config()
prefix = cfg.get("namePrefix") or pulumi.get_stack()
role_name = cfg.require("role")
vault_id = pulumi.Config("skyflow").get("vaultId") or os.environ.get("SKYFLOW_VAULT_ID")
if not vault_id:
    raise ValueError("no vault: set `pulumi config set skyflow:vaultId <id>` or SKYFLOW_VAULT_ID")

service = ServiceAccount(
    "batch-importer",
    name=f"{prefix}-batch-importer",
    display_name="Batch importer (API key)",
    description="Nightly batch import; authenticates with an API key",
    auth_type="api_key",
)

# `service_account=` (not only the id) lets preview reject a JWT account before any API call.
second_key = ApiKey("batch-importer-key-2", service_account=service,
                    keepers={"rotation": cfg.get("keyRotation") or "1"})

role = RoleAssignment(
    f"batch-importer-{role_name.lower().replace('_', '-')}",
    vault_id=vault_id,
    role_name=role_name,
    service_account_id=service.id,
)

pulumi.export("client_id", service.client_id)
pulumi.export("api_key_id", service.api_key_id)
pulumi.export("api_key", pulumi.Output.secret(service.api_key))
pulumi.export("second_api_key_id", second_key.key_id)
pulumi.export("second_api_key", pulumi.Output.secret(second_key.api_key))
pulumi.export("role_id", role.resolved_role_id)
pulumi.export("role_name", role_name)
pulumi.export("vault_id", vault_id)
