"""The route table (moto's ``urls.py``): path template, operationId, handler, auth, permission.

Every path the emulator answers is here: the Management API operations of Skyflow's spec
(``ROUTES``), the Data API slice (``DATA_ROUTES``) and the emulator's own ``/_emulator``
routes (``ADMIN_ROUTES``). ``app`` builds its URL map from ``ALL_ROUTES``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .context import Ctx
from .permissions import Target
from .responses import admin, audit, policies, records, roles, sts, token, users, vaults, workspaces
from .responses import service_accounts as sa
from .responses import targets as t

Handler = Callable[[Ctx], dict[str, Any]]
TargetFn = Callable[[Ctx], Target]
# bearer: access token or API key + X-Skyflow-Account-ID, checked against the permission;
# data:   access token or API key, checked against the caller's roles on the path's vault;
# none:   the token exchange (the assertion authenticates);
# admin:  DIR/admin-token, for /_emulator only.
Auth = Literal["bearer", "data", "none", "admin"]
Api = Literal["management", "data", "emulator"]


@dataclass(frozen=True)
class Route:
    method: str
    template: str           # the spec's path template, logged as-is
    operation: str          # the spec's operationId
    handler: Handler
    permission: str | None  # None for the token exchange and the admin routes
    target: TargetFn | None = None
    auth: Auth = "bearer"
    api: Api = "management"


SA = "ServiceAccountService_"
RS = "RoleService_"
PS = "PolicyAuthoringService_"
SAP = "/v1/serviceAccounts/{ID}"
acct = t.account

WS = "WorkspaceService_"
US = "UserService_"
VT = "VaultTemplateService_"
WSP = "/v1/workspaces/{ID}"

# Vaults, their schema versions and templates, workspaces and users.
VAULT_ROUTES: list[Route] = [
    Route("GET", "/v1/vaults", "list-vaults", vaults.list_, "vault.read", t.anywhere),
    Route("POST", "/v1/vaults", "create-vault", vaults.create, "vault.create", acct),
    Route("GET", "/v1/vaults/{ID}", "get-vault", vaults.get, "vault.read", t.path_vault),
    Route("PATCH", "/v1/vaults/{ID}", "update-vault", vaults.update, "vault.update",
          t.path_vault),
    Route("DELETE", "/v1/vaults/{ID}", "delete-vault", vaults.delete, "vault.delete",
          t.path_vault),
    Route("GET", "/v1/vaults/{vaultID}/versions", "list-vault-schema-versions",
          vaults.versions, "vault.read", t.vault),
    Route("GET", "/v1/vaults/{vaultID}/versions/{versionTag}", "get-vault-schema-version",
          vaults.version, "vault.read", t.vault),
    Route("GET", "/v1/vault-templates", VT + "ListVaultTemplates", vaults.list_templates,
          "vaultTemplate.read", acct),
    Route("GET", "/v1/vault-templates/{ID}", VT + "GetVaultTemplate", vaults.get_template,
          "vaultTemplate.read", acct),
    Route("GET", "/v1/workspaces", WS + "ListWorkspaces", workspaces.list_, "workspace.read",
          acct),
    Route("POST", "/v1/workspaces", WS + "CreateWorkspace", workspaces.create,
          "workspace.create", acct),
    Route("GET", WSP, WS + "GetWorkspace", workspaces.get, "workspace.read", acct),
    Route("PATCH", WSP, WS + "UpdateWorkspace", workspaces.update, "workspace.update", acct),
    Route("DELETE", WSP, WS + "DeleteWorkspace", workspaces.delete, "workspace.delete", acct),
    Route("GET", WSP + "/members", WS + "ListMembers", workspaces.members, "workspace.read",
          acct),
    Route("GET", "/v1/users", US + "ListUsers", users.list_, "user.read", acct),
    Route("POST", "/v1/users", US + "CreateUser", users.create, "user.create", acct),
    Route("GET", "/v1/users/{ID}", US + "GetUser", users.get, "user.read", acct),
    Route("PATCH", "/v1/users/{ID}", US + "UpdateUser", users.update, "user.update", acct),
    Route("DELETE", "/v1/users/{ID}", US + "DeleteUser", users.delete, "user.delete", acct),
]

ROUTES: list[Route] = [
    Route("POST", "/v1/auth/sa/oauth/token", "AuthenticationService_GetAuthToken",
          token.get_token, None, auth="none"),
    # service accounts
    Route("POST", "/v1/serviceAccounts", SA + "CreateServiceAccount", sa.create,
          "serviceAccount.create", acct),
    Route("GET", "/v1/serviceAccounts", SA + "ListServiceAccounts", sa.list_,
          "serviceAccount.read", acct),
    Route("GET", SAP, SA + "GetServiceAccount", sa.get, "serviceAccount.read", acct),
    Route("PATCH", SAP, SA + "UpdateServiceAccount", sa.update, "serviceAccount.update", acct),
    Route("DELETE", SAP, SA + "DeleteServiceAccount", sa.delete, "serviceAccount.delete", acct),
    # JWT key pairs
    Route("POST", SAP + "/keys", SA + "CreateServiceAccountKey", sa.create_key,
          "serviceAccountKey.create", acct),
    Route("GET", SAP + "/keys", SA + "ListServiceAccountKeys", sa.list_keys,
          "serviceAccountKey.read", acct),
    Route("GET", SAP + "/keys/{keyID}", SA + "GetServiceAccountKey", sa.get_key,
          "serviceAccountKey.read", acct),
    Route("PUT", SAP + "/keys/{KeyID}/rotate", SA + "RotateServiceAccountKey", sa.rotate_key,
          "serviceAccountKey.update", acct),
    Route("DELETE", SAP + "/keys/{keyID}", SA + "DeleteServiceAccountKey", sa.delete_key,
          "serviceAccountKey.delete", acct),
    # API keys
    Route("POST", SAP + "/apikey", SA + "CreateAPIKey", sa.create_api_key, "apiKey.create",
          acct),
    Route("GET", SAP + "/apikey", SA + "ListAPIKeys", sa.list_api_keys, "apiKey.read", acct),
    Route("GET", SAP + "/apikey/{keyID}", SA + "GetAPIKey", sa.get_api_key, "apiKey.read",
          acct),
    Route("PUT", SAP + "/apikey/{keyID}/rotate", SA + "RotateAPIKey", sa.rotate_api_key,
          "apiKey.update", acct),
    Route("DELETE", SAP + "/apikey/{keyID}", SA + "DeleteAPIKey", sa.delete_api_key,
          "apiKey.delete", acct),
    # EMULATOR EXTENSION: not in Skyflow's spec.
    Route("PATCH", SAP + "/apikey/{keyID}/status", "Emulator_UpdateAPIKeyStatus",
          sa.set_api_key_status, "apiKey.update", acct),
    # roles
    Route("GET", "/v1/roles", RS + "ListRoles", roles.list_, "role.read", t.query_resource),
    Route("GET", "/v1/roleDefinitions", RS + "ListRoleDefinitions", roles.definitions,
          "role.read", t.anywhere),
    Route("POST", "/v1/roles", RS + "CreateRole", roles.create, "role.create", t.body_resource),
    Route("GET", "/v1/roles/{ID}", RS + "GetRole", roles.get, "role.read", t.role),
    Route("PATCH", "/v1/roles/{ID}", RS + "UpdateRole", roles.update, "role.update", t.role),
    Route("DELETE", "/v1/roles/{ID}", RS + "DeleteRole", roles.delete, "role.delete", t.role),
    Route("POST", "/v1/roles/assign", RS + "AssignRole", roles.assign, "role.assign",
          t.body_role),
    Route("POST", "/v1/roles/unassign", RS + "UnassignRole", roles.unassign, "role.assign",
          t.body_role),
    Route("GET", "/v1/roles/{ID}/members", RS + "ListMembersByRole", roles.members, "role.read",
          t.role),
    Route("GET", "/v1/members/{member.ID}/roles", RS + "ListRolesOfMember",
          roles.roles_of_member, "member.read", acct),
    Route("GET", "/v1/members/{member.ID}/permissions", RS + "ListPermissionsOfMember",
          roles.permissions_of_member, "member.read", acct),
    Route("GET", "/v1/policies/{policyID}/roles", RS + "ListRolesOfPolicy",
          policies.roles_of_policy, "policy.read", t.path_policy),
    # policies
    Route("GET", "/v1/policies", PS + "ListPolicies", policies.list_, "policy.read",
          t.query_resource),
    Route("POST", "/v1/policies", PS + "CreatePolicy", policies.create, "policy.create",
          t.body_resource),
    Route("GET", "/v1/policies/{ID}", PS + "GetPolicy", policies.get, "policy.read", t.policy),
    Route("PATCH", "/v1/policies/{ID}", PS + "UpdatePolicy", policies.update, "policy.update",
          t.policy),
    Route("PATCH", "/v1/policies/{ID}/status", PS + "UpdateStatus", policies.set_status,
          "policy.update", t.policy),
    Route("DELETE", "/v1/policies/{ID}", PS + "DeletePolicy", policies.delete, "policy.delete",
          t.policy),
    Route("POST", "/v1/policies/assign", PS + "AssignPolicy", policies.assign, "policy.assign",
          t.body_policy),
    Route("POST", "/v1/policies/unassign", PS + "UnassignPolicy", policies.unassign,
          "policy.assign", t.body_policy),
    Route("GET", "/v1/roles/{roleID}/policies", PS + "ListPoliciesByRole",
          policies.policies_of_role, "policy.read", t.path_role),
    # audit log (every route above is recorded by the app, models/audit.py)
    Route("GET", "/v1/audit/events", "AuditService_ListAuditEvents", audit.list_, "audit.read",
          acct),
    *VAULT_ROUTES,
]

# Skyflow's STS (the spec's tag "Token Exchange"): configurations and the exchange.
TES = "TokenExchangeService_"
STS_ROUTES: list[Route] = [
    Route("POST", "/v1/auth/sts/token", "AuthenticationService_GetSTSToken", sts.get_token,
          None, auth="none"),
    Route("GET", "/v1/sts/config", TES + "ListSTSConfigs", sts.list_, "stsConfig.read", acct),
    Route("POST", "/v1/sts/config", TES + "CreateSTSConfig", sts.create, "stsConfig.create",
          acct),
    Route("GET", "/v1/sts/config/{ID}", TES + "GetSTSConfig", sts.get, "stsConfig.read", acct),
    Route("POST", "/v1/sts/config/{ID}", TES + "UpdateSTSConfig", sts.update,
          "stsConfig.update", acct),
    Route("DELETE", "/v1/sts/config/{ID}", TES + "DeleteSTSConfig", sts.delete,
          "stsConfig.delete", acct),
]
ROUTES += STS_ROUTES  # management operations like the rest (the contract covers them)

# Skyflow's Data API (operationIds of its Data API spec); served with CORS for --cors-origin.
DATA_ROUTES: list[Route] = [
    Route("POST", "/v1/vaults/{vaultID}/{table}", "RecordService_InsertRecord",
          records.insert, "record.create", t.vault, auth="data", api="data"),
    Route("GET", "/v1/vaults/{vaultID}/{table}", "RecordService_BulkGetRecord",
          records.bulk_get, "record.read", t.vault, auth="data", api="data"),
    Route("POST", "/v1/vaults/{vaultID}/detokenize", "RecordService_Detokenize",
          records.detokenize, "record.read", t.vault, auth="data", api="data"),
]

# The emulator's own API (health, faults, the key stock), authenticated by DIR/admin-token;
# never faulted.
ADMIN_ROUTES: list[Route] = [
    Route("GET", "/_emulator/health", "Emulator_Health", admin.health, None,
          auth="admin", api="emulator"),
    Route("GET", "/_emulator/faults", "Emulator_GetFaults", admin.get_faults, None,
          auth="admin", api="emulator"),
    Route("PUT", "/_emulator/faults", "Emulator_SetFaults", admin.set_faults, None,
          auth="admin", api="emulator"),
    Route("GET", "/_emulator/keys", "Emulator_GetKeyStock", admin.key_stock, None,
          auth="admin", api="emulator"),
]

ALL_ROUTES: list[Route] = ROUTES + DATA_ROUTES + ADMIN_ROUTES
