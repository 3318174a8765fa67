"""skyflow-pulumi: Skyflow identities (service accounts, keys, roles, policies) as Pulumi resources.

Importing this package has no side effects (the dynamic provider process imports it to unpickle
providers by reference).
"""

from .api_key import ApiKey, ApiKeyArgs
from .policy import Policy, PolicyArgs, PolicyRuleArgs
from .policy_assignment import PolicyAssignment, PolicyAssignmentArgs
from .role import Role, RoleArgs, SystemRole, SystemRoleArgs, get_system_role
from .role_assignment import RoleAssignment, RoleAssignmentArgs
from .service_account import IpAllowlistArgs, ServiceAccount, ServiceAccountArgs
from .service_account_key import ServiceAccountKey, ServiceAccountKeyArgs

__all__ = [
    "ApiKey",
    "ApiKeyArgs",
    "IpAllowlistArgs",
    "Policy",
    "PolicyArgs",
    "PolicyAssignment",
    "PolicyAssignmentArgs",
    "PolicyRuleArgs",
    "Role",
    "RoleArgs",
    "RoleAssignment",
    "RoleAssignmentArgs",
    "ServiceAccount",
    "ServiceAccountArgs",
    "ServiceAccountKey",
    "ServiceAccountKeyArgs",
    "SystemRole",
    "SystemRoleArgs",
    "get_system_role",
]
