"""Skyflow Management API client: one method per operation the provider uses.

Paths, bodies and responses as in Skyflow's spec; the request plumbing (auth, errors, retries,
pages) is ``base.ClientBase``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import ClientBase, _q

#: audit events per page: the questions the provider asks match few events, but a stack's
#: whole history on one account can be long
AUDIT_PAGE_SIZE = 100


class ManagementClient(ClientBase):
    """Calls Skyflow's Management API for ``settings``; every method returns parsed JSON.

    Thread-safe: sessions are per thread, the token provider has its own lock. Refuses to be
    pickled, so it can never be captured into a dynamic provider's serialized state.
    """

    # ----------------------------------------------------------------------- service accounts

    def create_service_account(self, body: Mapping[str, Any]) -> dict[str, Any]:
        name = (body.get("serviceAccount") or {}).get("name", "")
        return self.request("POST", "/v1/serviceAccounts", json=dict(body),
                            operation="create service account", target=repr(name))

    def get_service_account(self, id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/serviceAccounts/{_q(id)}",
                            operation="read service account", target=id)

    def list_service_accounts(self, name: str | None = None, status: str | None = None,
                              max_items: int | None = None) -> list[Any]:
        params: dict[str, Any] = {"accountID": self.settings.account_id}
        if name:
            params["name"] = name
        if status:
            params["status"] = status
        return self.paginate("/v1/serviceAccounts", "serviceAccounts", params,
                             operation="list service accounts", max_items=max_items)

    def update_service_account(self, id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        # Full desired state in the body: repeating it is harmless, so it is retried.
        return self.request("PATCH", f"/v1/serviceAccounts/{_q(id)}", json=dict(body),
                            operation="update service account", target=id, idempotent=True)

    def delete_service_account(self, id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/v1/serviceAccounts/{_q(id)}",
                            operation="delete service account", target=id)

    # ----------------------------------------------------------------------- key pairs

    def create_key(self, sa_id: str) -> dict[str, Any]:
        return self.request("POST", f"/v1/serviceAccounts/{_q(sa_id)}/keys",
                            operation="create key", target=f"for service account {sa_id}")

    def list_keys(self, sa_id: str) -> list[Any]:
        data = self.request(
            "GET", f"/v1/serviceAccounts/{_q(sa_id)}/keys",
            params=[("keyTypes", "USER_MANAGED"), ("keyTypes", "SYSTEM_MANAGED")],
            operation="list keys", target=f"of service account {sa_id}")
        return list(data.get("keys") or [])

    def get_key(self, sa_id: str, key_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/serviceAccounts/{_q(sa_id)}/keys/{_q(key_id)}",
                            operation="read key", target=f"{key_id} of service account {sa_id}")

    def rotate_key(self, sa_id: str, key_id: str) -> dict[str, Any]:
        # Not idempotent: a repeated rotate would discard the key the first one returned.
        return self.request("PUT",
                            f"/v1/serviceAccounts/{_q(sa_id)}/keys/{_q(key_id)}/rotate",
                            operation="rotate key",
                            target=f"{key_id} of service account {sa_id}", idempotent=False)

    def delete_key(self, sa_id: str, key_id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/v1/serviceAccounts/{_q(sa_id)}/keys/{_q(key_id)}",
                            operation="delete key",
                            target=f"{key_id} of service account {sa_id}")

    # ----------------------------------------------------------------------- API keys

    def create_api_key(self, sa_id: str) -> dict[str, Any]:
        return self.request("POST", f"/v1/serviceAccounts/{_q(sa_id)}/apikey",
                            operation="create API key", target=f"for service account {sa_id}")

    def list_api_keys(self, sa_id: str) -> list[Any]:
        data = self.request("GET", f"/v1/serviceAccounts/{_q(sa_id)}/apikey",
                            operation="list API keys", target=f"of service account {sa_id}")
        return list(data.get("apiKeys") or [])

    def get_api_key(self, sa_id: str, key_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/serviceAccounts/{_q(sa_id)}/apikey/{_q(key_id)}",
                            operation="read API key",
                            target=f"{key_id} of service account {sa_id}")

    def rotate_api_key(self, sa_id: str, key_id: str) -> dict[str, Any]:
        return self.request("PUT",
                            f"/v1/serviceAccounts/{_q(sa_id)}/apikey/{_q(key_id)}/rotate",
                            operation="rotate API key",
                            target=f"{key_id} of service account {sa_id}", idempotent=False)

    def delete_api_key(self, sa_id: str, key_id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/v1/serviceAccounts/{_q(sa_id)}/apikey/{_q(key_id)}",
                            operation="delete API key",
                            target=f"{key_id} of service account {sa_id}")

    # ----------------------------------------------------------------------- roles

    def list_roles(self, resource_id: str, resource_type: str = "VAULT",
                   name: str | None = None, type: str | None = None) -> list[Any]:
        params: dict[str, Any] = {"resource.ID": resource_id, "resource.type": resource_type}
        if name:
            params["name"] = name
        if type:
            params["type"] = type
        data = self.request("GET", "/v1/roles", params=params, operation="list roles",
                            target=f"of {resource_type} {resource_id}")
        return list(data.get("roles") or [])

    def create_role(self, body: Mapping[str, Any]) -> dict[str, Any]:
        name = (body.get("roleDefinition") or {}).get("name", "")
        return self.request("POST", "/v1/roles", json=dict(body), operation="create role",
                            target=repr(name))

    def get_role(self, id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/roles/{_q(id)}", operation="read role", target=id)

    def update_role(self, id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", f"/v1/roles/{_q(id)}", json=dict(body),
                            operation="update role", target=id, idempotent=True)

    def delete_role(self, id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/v1/roles/{_q(id)}", operation="delete role", target=id)

    def assign_role(self, role_id: str, members: list[Mapping[str, Any]],
                    condition: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"ID": role_id, "members": [dict(m) for m in members]}
        if condition:
            body["condition"] = condition
        return self.request("POST", "/v1/roles/assign", json=body, operation="assign role",
                            target=role_id)

    def unassign_role(self, role_id: str, members: list[Mapping[str, Any]]) -> dict[str, Any]:
        body = {"ID": role_id, "members": [dict(m) for m in members]}
        return self.request("POST", "/v1/roles/unassign", json=body,
                            operation="unassign role", target=role_id)

    def list_role_members(self, role_id: str) -> list[Any]:
        return self.paginate(f"/v1/roles/{_q(role_id)}/members", "members",
                             operation="list members", target=f"of role {role_id}")

    def list_member_roles(self, member_id: str,
                          member_type: str = "SERVICE_ACCOUNT") -> list[Any]:
        return self.paginate(f"/v1/members/{_q(member_id)}/roles", "roleToResource",
                             {"member.type": member_type}, operation="list roles",
                             target=f"of {member_type} {member_id}")

    def list_member_permissions(self, member_id: str,
                                member_type: str = "SERVICE_ACCOUNT") -> list[str]:
        data = self.request("GET", f"/v1/members/{_q(member_id)}/permissions",
                            params={"member.type": member_type},
                            operation="list permissions", target=f"of {member_type} {member_id}")
        return list(data.get("permissions") or [])

    # ----------------------------------------------------------------------- policies

    def create_policy(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/v1/policies", json=dict(body), operation="create policy",
                            target=repr(body.get("name", "")))

    def get_policy(self, id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/policies/{_q(id)}", operation="read policy", target=id)

    def list_policies(self, resource_id: str, resource_type: str = "VAULT",
                      name: str | None = None, max_items: int | None = None) -> list[Any]:
        params: dict[str, Any] = {"resource.ID": resource_id, "resource.type": resource_type}
        if name:
            params["filterOps.name"] = name
        return self.paginate("/v1/policies", "policies", params, operation="list policies",
                             target=f"of {resource_type} {resource_id}", max_items=max_items)

    def update_policy(self, id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", f"/v1/policies/{_q(id)}", json=dict(body),
                            operation="update policy", target=id, idempotent=True)

    def set_policy_status(self, id: str, status: str) -> dict[str, Any]:
        return self.request("PATCH", f"/v1/policies/{_q(id)}/status", json={"status": status},
                            operation=f"set status {status} of policy", target=id,
                            idempotent=True)

    def delete_policy(self, id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/v1/policies/{_q(id)}", operation="delete policy",
                            target=id)

    def assign_policy(self, policy_id: str, role_ids: list[str]) -> dict[str, Any]:
        return self.request("POST", "/v1/policies/assign",
                            json={"ID": policy_id, "roleIDs": list(role_ids)},
                            operation="attach policy", target=f"{policy_id} to roles "
                            + ", ".join(role_ids))

    def unassign_policy(self, policy_id: str, role_ids: list[str]) -> dict[str, Any]:
        return self.request("POST", "/v1/policies/unassign",
                            json={"ID": policy_id, "roleIDs": list(role_ids)},
                            operation="detach policy", target=f"{policy_id} from roles "
                            + ", ".join(role_ids))

    def list_role_policies(self, role_id: str) -> list[Any]:
        return self.paginate(f"/v1/roles/{_q(role_id)}/policies", "policies",
                             operation="list policies", target=f"of role {role_id}")

    # ----------------------------------------------------------------------- audit log

    def list_audit_events(self, filters: Mapping[str, str]) -> list[Any]:
        """Every event of the account's audit log matching ``filters`` (``filterOps.*`` query
        parameters; ``filterOps.accountID`` is added), oldest first."""
        params = {**filters, "filterOps.accountID": self.settings.account_id}
        return self.paginate("/v1/audit/events", "event", params, limit=AUDIT_PAGE_SIZE,
                             operation="list audit events", target="of the account")
    # ----------------------------------------------------------------------- workspaces

    def list_workspaces(self, name: str | None = None) -> list[Any]:
        params: dict[str, Any] = {"accountID": self.settings.account_id}
        if name:
            params["name"] = name
        return self.paginate("/v1/workspaces", "workspaces", params,
                             operation="list workspaces")

    def get_workspace(self, id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/workspaces/{_q(id)}", operation="read workspace",
                            target=id)

    # ----------------------------------------------------------------------- vaults

    def create_vault(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/v1/vaults", json=dict(body), operation="create vault",
                            target=repr(body.get("name", "")))

    def get_vault(self, id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/vaults/{_q(id)}", operation="read vault", target=id)

    def list_vaults(self, workspace_id: str, name: str | None = None,
                    max_items: int | None = None) -> list[Any]:
        params: dict[str, Any] = {"workspaceID": workspace_id}
        if name:
            params["filterOps.name"] = name
        return self.paginate("/v1/vaults", "vaults", params, operation="list vaults",
                             target=f"of workspace {workspace_id}", max_items=max_items)

    def update_vault(self, id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        # The whole desired name, description and schema: repeating it is harmless.
        return self.request("PATCH", f"/v1/vaults/{_q(id)}", json=dict(body),
                            operation="update vault", target=id, idempotent=True)

    def delete_vault(self, id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/v1/vaults/{_q(id)}", operation="delete vault",
                            target=id)

    # ----------------------------------------------------------------------- users

    def create_user(self, body: Mapping[str, Any]) -> dict[str, Any]:
        email = ((body.get("user") or {}).get("userIdentity") or {}).get("email", "")
        return self.request("POST", "/v1/users", json=dict(body), operation="create user",
                            target=repr(email))

    def get_user(self, id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/users/{_q(id)}", operation="read user", target=id)

    def list_users(self, email: str | None = None) -> list[Any]:
        params: dict[str, Any] = {"accountID": self.settings.account_id}
        if email:
            params["filterOps.email"] = email
        return self.paginate("/v1/users", "users", params, operation="list users")

    def update_user(self, id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", f"/v1/users/{_q(id)}", json=dict(body),
                            operation="update user", target=id, idempotent=True)

    def delete_user(self, id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/v1/users/{_q(id)}", operation="delete user", target=id)

    # ----------------------------------------------------------------------- STS (keyless)

    def create_sts_config(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/v1/sts/config",
                            json={**body, "accountID": self.settings.account_id},
                            operation="create STS config", target=repr(body.get("name", "")))

    def get_sts_config(self, id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/sts/config/{_q(id)}", operation="read STS config",
                            target=id)

    def list_sts_configs(self, name: str | None = None) -> list[Any]:
        params: dict[str, Any] = {"accountID": self.settings.account_id}
        if name:
            params["name"] = name
        return self.paginate("/v1/sts/config", "stsConfigs", params,
                             operation="list STS configs")

    def update_sts_config(self, id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        # The full desired state (POST, as the spec has it): repeating it is harmless.
        return self.request("POST", f"/v1/sts/config/{_q(id)}", json=dict(body),
                            operation="update STS config", target=id, idempotent=True)

    def delete_sts_config(self, id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/v1/sts/config/{_q(id)}",
                            operation="delete STS config", target=id)
