"""One resource of every type (or many service accounts) for the fault-injection e2e tests.

Config: ``prefix`` (names), ``count`` (copies), ``types`` (comma list of the resource kinds to
declare, in this order: jwt, api, key, apikey, role, policy, ra, pa; default all), ``mode``
(``sas``: only ``count`` JWT service accounts, for the parallelism test).
"""

from __future__ import annotations

import os

import pulumi

from skyflow_provider import (
    ApiKey,
    Policy,
    PolicyAssignment,
    Role,
    RoleAssignment,
    ServiceAccount,
    ServiceAccountKey,
)

cfg = pulumi.Config()
prefix = cfg.get("prefix") or "f"
count = cfg.get_int("count") or 1
vault = os.environ["SKYFLOW_VAULT_ID"]
ALL = ("jwt", "api", "key", "apikey", "role", "policy", "ra", "pa")
types = [t.strip() for t in (cfg.get("types") or ",".join(ALL)).split(",") if t.strip()]

if cfg.get("mode") == "sas":
    for i in range(count):
        sa = ServiceAccount(f"sa-{i}", name=f"{prefix}-sa-{i}")
        pulumi.export(f"sa-{i}_id", sa.id)
else:
    for i in range(count):
        jwt = ServiceAccount(f"jwt-{i}", name=f"{prefix}-jwt-{i}") if "jwt" in types else None
        api = (ServiceAccount(f"api-{i}", name=f"{prefix}-api-{i}", auth_type="api_key")
               if "api" in types else None)
        role = policy = None
        if jwt is not None:
            pulumi.export(f"jwt-{i}_id", jwt.id)
            pulumi.export(f"jwt-{i}_credentials", pulumi.Output.secret(jwt.credentials))
        if api is not None:
            pulumi.export(f"api-{i}_id", api.id)
            pulumi.export(f"api-{i}_api_key", pulumi.Output.secret(api.api_key))
        if "key" in types and jwt is not None:
            key = ServiceAccountKey(f"key-{i}", service_account=jwt)
            pulumi.export(f"key-{i}_credentials", pulumi.Output.secret(key.credentials))
        if "apikey" in types and api is not None:
            extra = ApiKey(f"apikey-{i}", service_account=api)
            pulumi.export(f"apikey-{i}_api_key", pulumi.Output.secret(extra.api_key))
        if "role" in types:
            role = Role(f"role-{i}", vault_id=vault, name=f"{prefix}-reader-{i}",
                        permissions=["vault.read", "record.read"])
            pulumi.export(f"role-{i}_id", role.id)
        if "policy" in types:
            policy = Policy(f"policy-{i}", vault_id=vault, name=f"{prefix}Masked{i}".replace(
                "-", ""), rules=[{"name": "ReadMasked",
                                  "rule_expression": "ALLOW READ ON persons.* WITH REDACTION "
                                                     "= MASKED"}])
            pulumi.export(f"policy-{i}_id", policy.id)
        if "ra" in types and role is not None and jwt is not None:
            RoleAssignment(f"ra-{i}", role_id=role.id, service_account_id=jwt.id)
        if "pa" in types and role is not None and policy is not None:
            PolicyAssignment(f"pa-{i}", policy_id=policy.id, role_ids=[role.id])
