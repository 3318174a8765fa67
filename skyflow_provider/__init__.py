"""skyflow-pulumi: Skyflow identities (service accounts, keys, roles, policies) as Pulumi resources,
and bearer tokens from a credentials.json.

Names are imported lazily (PEP 562): ``from skyflow_provider import generate_bearer_token`` loads
only the token modules, so the ``skyflow-token`` CLI and services that just need tokens do not pay
for importing the Pulumi SDK. Importing this package has no side effects (the dynamic provider
process imports it to unpickle providers by reference).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    # resources
    "ApiKey": "api_key",
    "ApiKeyArgs": "api_key",
    "Policy": "policy",
    "PolicyArgs": "policy",
    "PolicyRuleArgs": "policy",
    "PolicyAssignment": "policy_assignment",
    "PolicyAssignmentArgs": "policy_assignment",
    "Role": "role",
    "RoleArgs": "role",
    "SystemRole": "role",
    "SystemRoleArgs": "role",
    "get_system_role": "role",
    "RoleAssignment": "role_assignment",
    "RoleAssignmentArgs": "role_assignment",
    "IpAllowlistArgs": "service_account",
    "ServiceAccount": "service_account",
    "ServiceAccountArgs": "service_account",
    "ServiceAccountKey": "service_account_key",
    "ServiceAccountKeyArgs": "service_account_key",
    # bearer tokens (same names and call shapes as Skyflow's Python SDK)
    "generate_bearer_token": "tokens",
    "generate_bearer_token_from_creds": "tokens",
    "is_expired": "tokens",
    "TokenProvider": "tokens",
    # credentials, settings, client, errors
    "Credentials": "credentials",
    "load_credentials": "credentials",
    "ProviderSettings": "settings",
    "settings_from_config": "settings",
    "ManagementClient": "client",
    "SkyflowError": "errors",
    "CredentialsError": "errors",
    "ConfigError": "errors",
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
    "SystemRole",
    "SystemRoleArgs",
    "TokenProvider",
    "generate_bearer_token",
    "generate_bearer_token_from_creds",
    "get_system_role",
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
    from .api_key import ApiKey, ApiKeyArgs
    from .client import ManagementClient
    from .credentials import Credentials, load_credentials
    from .errors import ConfigError, CredentialsError, SkyflowError
    from .policy import Policy, PolicyArgs, PolicyRuleArgs
    from .policy_assignment import PolicyAssignment, PolicyAssignmentArgs
    from .role import Role, RoleArgs, SystemRole, SystemRoleArgs, get_system_role
    from .role_assignment import RoleAssignment, RoleAssignmentArgs
    from .service_account import IpAllowlistArgs, ServiceAccount, ServiceAccountArgs
    from .service_account_key import ServiceAccountKey, ServiceAccountKeyArgs
    from .settings import ProviderSettings, settings_from_config
    from .tokens import (
        TokenProvider,
        generate_bearer_token,
        generate_bearer_token_from_creds,
        is_expired,
    )
