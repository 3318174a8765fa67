"""The operation table: path template, operationId, handler, required permission, target."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import policies, roles, service_accounts, token_endpoint
from .context import Ctx
from .permissions import Target

Handler = Callable[[Ctx], dict[str, Any]]
TargetFn = Callable[[Ctx], Target]


def account(ctx: Ctx) -> Target:
    return Target("ACCOUNT", ctx.account_id)


def anywhere(ctx: Ctx) -> Target:
    return Target("ANY", "")


@dataclass(frozen=True)
class Route:
    method: str
    template: str           # the spec's path template, logged as-is
    operation: str          # the spec's operationId
    handler: Handler
    permission: str | None  # None only for the token exchange (no bearer auth)
    target: TargetFn | None = None


SA = "ServiceAccountService_"
RS = "RoleService_"
PS = "PolicyAuthoringService_"
SAP = "/v1/serviceAccounts/{ID}"
sa = service_accounts

ROUTES: list[Route] = [
    Route("POST", "/v1/auth/sa/oauth/token", "AuthenticationService_GetAuthToken",
          token_endpoint.get_token, None),
    # service accounts
    Route("POST", "/v1/serviceAccounts", SA + "CreateServiceAccount", sa.create,
          "serviceAccount.create", account),
    Route("GET", "/v1/serviceAccounts", SA + "ListServiceAccounts", sa.list_,
          "serviceAccount.read", account),
    Route("GET", SAP, SA + "GetServiceAccount", sa.get, "serviceAccount.read", account),
    Route("PATCH", SAP, SA + "UpdateServiceAccount", sa.update, "serviceAccount.update", account),
    Route("DELETE", SAP, SA + "DeleteServiceAccount", sa.delete, "serviceAccount.delete",
          account),
    # JWT key pairs
    Route("POST", SAP + "/keys", SA + "CreateServiceAccountKey", sa.create_key,
          "serviceAccountKey.create", account),
    Route("GET", SAP + "/keys", SA + "ListServiceAccountKeys", sa.list_keys,
          "serviceAccountKey.read", account),
    Route("GET", SAP + "/keys/{keyID}", SA + "GetServiceAccountKey", sa.get_key,
          "serviceAccountKey.read", account),
    Route("PUT", SAP + "/keys/{KeyID}/rotate", SA + "RotateServiceAccountKey", sa.rotate_key,
          "serviceAccountKey.update", account),
    Route("DELETE", SAP + "/keys/{keyID}", SA + "DeleteServiceAccountKey", sa.delete_key,
          "serviceAccountKey.delete", account),
    # API keys
    Route("POST", SAP + "/apikey", SA + "CreateAPIKey", sa.create_api_key, "apiKey.create",
          account),
    Route("GET", SAP + "/apikey", SA + "ListAPIKeys", sa.list_api_keys, "apiKey.read", account),
    Route("GET", SAP + "/apikey/{keyID}", SA + "GetAPIKey", sa.get_api_key, "apiKey.read",
          account),
    Route("PUT", SAP + "/apikey/{keyID}/rotate", SA + "RotateAPIKey", sa.rotate_api_key,
          "apiKey.update", account),
    Route("DELETE", SAP + "/apikey/{keyID}", SA + "DeleteAPIKey", sa.delete_api_key,
          "apiKey.delete", account),
    # EMULATOR EXTENSION: not in Skyflow's spec.
    Route("PATCH", SAP + "/apikey/{keyID}/status", "Emulator_UpdateAPIKeyStatus",
          sa.set_api_key_status, "apiKey.update", account),
    # roles
    Route("GET", "/v1/roles", RS + "ListRoles", roles.list_, "role.read", roles.query_resource),
    Route("GET", "/v1/roleDefinitions", RS + "ListRoleDefinitions", roles.definitions,
          "role.read", anywhere),
    Route("POST", "/v1/roles", RS + "CreateRole", roles.create, "role.create",
          roles.body_resource),
    Route("GET", "/v1/roles/{ID}", RS + "GetRole", roles.get, "role.read", roles.role_target),
    Route("PATCH", "/v1/roles/{ID}", RS + "UpdateRole", roles.update, "role.update",
          roles.role_target),
    Route("DELETE", "/v1/roles/{ID}", RS + "DeleteRole", roles.delete, "role.delete",
          roles.role_target),
    Route("POST", "/v1/roles/assign", RS + "AssignRole", roles.assign, "role.assign",
          roles.body_role_target),
    Route("POST", "/v1/roles/unassign", RS + "UnassignRole", roles.unassign, "role.assign",
          roles.body_role_target),
    Route("GET", "/v1/roles/{ID}/members", RS + "ListMembersByRole", roles.members, "role.read",
          roles.role_target),
    Route("GET", "/v1/members/{member.ID}/roles", RS + "ListRolesOfMember",
          roles.roles_of_member, "member.read", account),
    Route("GET", "/v1/members/{member.ID}/permissions", RS + "ListPermissionsOfMember",
          roles.permissions_of_member, "member.read", account),
    Route("GET", "/v1/policies/{policyID}/roles", RS + "ListRolesOfPolicy",
          policies.roles_of_policy, "policy.read",
          lambda ctx: policies.policy_target(ctx, "policyID")),
    # policies
    Route("GET", "/v1/policies", PS + "ListPolicies", policies.list_, "policy.read",
          roles.query_resource),
    Route("POST", "/v1/policies", PS + "CreatePolicy", policies.create, "policy.create",
          roles.body_resource),
    Route("GET", "/v1/policies/{ID}", PS + "GetPolicy", policies.get, "policy.read",
          policies.policy_target),
    Route("PATCH", "/v1/policies/{ID}", PS + "UpdatePolicy", policies.update, "policy.update",
          policies.policy_target),
    Route("PATCH", "/v1/policies/{ID}/status", PS + "UpdateStatus", policies.set_status,
          "policy.update", policies.policy_target),
    Route("DELETE", "/v1/policies/{ID}", PS + "DeletePolicy", policies.delete, "policy.delete",
          policies.policy_target),
    Route("POST", "/v1/policies/assign", PS + "AssignPolicy", policies.assign, "policy.assign",
          policies.body_policy_target),
    Route("POST", "/v1/policies/unassign", PS + "UnassignPolicy", policies.unassign,
          "policy.assign", policies.body_policy_target),
    Route("GET", "/v1/roles/{roleID}/policies", PS + "ListPoliciesByRole",
          policies.policies_of_role, "policy.read",
          lambda ctx: roles.role_target(ctx, "roleID")),
]
