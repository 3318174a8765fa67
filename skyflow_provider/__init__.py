"""skyflow-pulumi: Skyflow vaults and identities (users, service accounts, keys, roles, policies)
as Pulumi resources, and bearer tokens from a credentials.json.

Names are imported lazily (PEP 562): ``from skyflow_provider import generate_bearer_token`` loads
only the token modules, so the ``skyflow-token`` CLI and services that just need tokens do not pay
for importing the Pulumi SDK. Importing this package only installs the finder that keeps the
flat layout's module paths importable (``_legacy``): the dynamic provider process imports it to
unpickle providers by reference, and stacks created before the move name the old paths.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import _legacy

_legacy.install()  # old module paths (pickled providers in existing stacks) keep working

_EXPORTS: dict[str, str] = {
    # resources
    "ApiKey": "resources.api_key",
    "ApiKeyArgs": "resources.api_key",
    "Policy": "resources.policy",
    "PolicyArgs": "resources.policy",
    "PolicyRuleArgs": "resources.policy",
    "PolicyAssignment": "resources.policy_assignment",
    "PolicyAssignmentArgs": "resources.policy_assignment",
    "Role": "resources.role",
    "RoleArgs": "resources.role",
    "SystemRole": "resources.role",
    "SystemRoleArgs": "resources.role",
    "get_system_role": "resources.role",
    "RoleAssignment": "resources.role_assignment",
    "RoleAssignmentArgs": "resources.role_assignment",
    "IpAllowlistArgs": "resources.service_account",
    "ServiceAccount": "resources.service_account",
    "ServiceAccountArgs": "resources.service_account",
    "ServiceAccountKey": "resources.service_account_key",
    "ServiceAccountKeyArgs": "resources.service_account_key",
    "User": "resources.user",
    "UserArgs": "resources.user",
    "Vault": "resources.vault",
    "VaultArgs": "resources.vault",
    "VaultColumnArgs": "resources.vault",
    "VaultSchemaArgs": "resources.vault",
    "VaultTableArgs": "resources.vault",
    "WorkspaceResult": "resources.workspace",
    "get_workspace": "resources.workspace",
    # keyless (docs/keyless.md)
    "StsConfig": "resources.sts_config",
    "StsConfigArgs": "resources.sts_config",
    "GitHubActionsIdentity": "resources.identities",
    "KubernetesIdentity": "resources.identities",
    "generate_bearer_token_from_oidc": "auth.oidc",
    # bearer tokens (same names and call shapes as Skyflow's Python SDK)
    "generate_bearer_token": "auth.tokens",
    "generate_bearer_token_from_creds": "auth.tokens",
    "is_expired": "auth.tokens",
    "TokenProvider": "auth.tokens",
    # credentials, settings, client, errors
    "Credentials": "auth.credentials",
    "load_credentials": "auth.credentials",
    "ProviderSettings": "api.settings",
    "settings_from_config": "api.settings",
    "ManagementClient": "api.client",
    "SkyflowError": "http.errors",
    "CredentialsError": "http.errors",
    "ConfigError": "http.errors",
}

__all__ = [
    "ApiKey",
    "ApiKeyArgs",
    "ConfigError",
    "Credentials",
    "CredentialsError",
    "IpAllowlistArgs",
    "ManagementClient",
    "Policy",
    "PolicyArgs",
    "PolicyAssignment",
    "PolicyAssignmentArgs",
    "PolicyRuleArgs",
    "ProviderSettings",
    "Role",
    "RoleArgs",
    "RoleAssignment",
    "RoleAssignmentArgs",
    "ServiceAccount",
    "ServiceAccountArgs",
    "ServiceAccountKey",
    "ServiceAccountKeyArgs",
    "SkyflowError",
    "StsConfig",
    "StsConfigArgs",
    "GitHubActionsIdentity",
    "KubernetesIdentity",
    "generate_bearer_token_from_oidc",
    "SystemRole",
    "SystemRoleArgs",
    "TokenProvider",
    "User",
    "UserArgs",
    "Vault",
    "VaultArgs",
    "VaultColumnArgs",
    "VaultSchemaArgs",
    "VaultTableArgs",
    "WorkspaceResult",
    "generate_bearer_token",
    "generate_bearer_token_from_creds",
    "get_system_role",
    "get_workspace",
    "is_expired",
    "load_credentials",
    "settings_from_config",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'skyflow_provider' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:
    from .api.client import ManagementClient
    from .api.settings import ProviderSettings, settings_from_config
    from .auth.credentials import Credentials, load_credentials
    from .auth.oidc import generate_bearer_token_from_oidc
    from .auth.tokens import (
        TokenProvider,
        generate_bearer_token,
        generate_bearer_token_from_creds,
        is_expired,
    )
    from .http.errors import ConfigError, CredentialsError, SkyflowError
    from .resources.api_key import ApiKey, ApiKeyArgs
    from .resources.identities import GitHubActionsIdentity, KubernetesIdentity
    from .resources.policy import Policy, PolicyArgs, PolicyRuleArgs
    from .resources.policy_assignment import PolicyAssignment, PolicyAssignmentArgs
    from .resources.role import Role, RoleArgs, SystemRole, SystemRoleArgs, get_system_role
    from .resources.role_assignment import RoleAssignment, RoleAssignmentArgs
    from .resources.service_account import IpAllowlistArgs, ServiceAccount, ServiceAccountArgs
    from .resources.service_account_key import ServiceAccountKey, ServiceAccountKeyArgs
    from .resources.sts_config import StsConfig, StsConfigArgs
    from .resources.user import User, UserArgs
    from .resources.vault import (
        Vault,
        VaultArgs,
        VaultColumnArgs,
        VaultSchemaArgs,
        VaultTableArgs,
    )
    from .resources.workspace import WorkspaceResult, get_workspace
