"""One resource of every type, for the state-compatibility test (tests/e2e/test_old_state.py).

Only the public names of ``skyflow_provider`` are used, so the same program runs on the flat
layout (which wrote tests/fixtures/old_state) and on the current one.
"""

import os

import pulumi

from skyflow_provider import (
    ApiKey,
    Policy,
    PolicyAssignment,
    PolicyRuleArgs,
    Role,
    RoleAssignment,
    ServiceAccount,
    ServiceAccountKey,
    get_system_role,
)

vault = pulumi.Config().get("vaultId") or os.environ["SKYFLOW_VAULT_ID"]
jwt_sa = ServiceAccount("jwt", name="compat-jwt", description="state compatibility")
api_sa = ServiceAccount("api", name="compat-api", auth_type="api_key")
extra_key = ServiceAccountKey("jwt-key-2", service_account=jwt_sa)
extra_api_key = ApiKey("api-key-2", service_account=api_sa)
reader = Role("reader", vault_id=vault, name="compat-reader", permissions=["vault.read"])
policy = Policy("masked", vault_id=vault, name="compatMasked", rules=[
    PolicyRuleArgs(name="ReadMasked",
                   rule_expression="ALLOW READ ON persons.* WITH REDACTION = MASKED"),
])
RoleAssignment("jwt-reader", role_id=reader.id, service_account_id=jwt_sa.id)
RoleAssignment("api-viewer", vault_id=vault, role_name="VAULT_VIEWER", service_account_id=api_sa.id)
PolicyAssignment("masked-roles", policy_id=policy.id,
                 role_ids=[reader.id, get_system_role(vault, "VAULT_VIEWER")])
pulumi.export("jwt_client_id", jwt_sa.client_id)
pulumi.export("jwt_credentials", jwt_sa.credentials)
