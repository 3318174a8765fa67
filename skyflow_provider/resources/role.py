"""``Role``: a custom vault role.

A role grants nothing until a policy is attached to it (``PolicyAssignment``) and it is assigned
to members (``RoleAssignment``). Built-in roles are looked up with ``SystemRole`` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CreateResult, ReadResult, Resource, UpdateResult

from ..api import idempotency
from ..api.idempotency import Named
from . import checks as v
from .args import RoleArgs
from .base import (
    SkyflowProvider,
    SkyflowProviderError,
    carry,
    declare,
)
from .declarations import ROLE
from .outputs import RoleOutputs
from .recovered import NamedRecovery
from .role_lookup import SYSTEM_ROLES

# SystemRole lived in this module before; stacks pickled ``SystemRoleProvider`` under this path.
from .system_role import SystemRole, SystemRoleArgs, SystemRoleProvider, get_system_role

PERMISSION_HINT = "permissions look like 'resource.verb[:qualifier]', e.g. 'vaults.read:upstream'"
LEVEL_HINT = "levels are upper-case words such as 'VAULT'"


class RoleProvider(NamedRecovery, SkyflowProvider):
    """CRUD for /v1/roles (custom roles only)."""

    spec = ROLE
    recovery_kind, recovery_what = "Role", "role"

    def recovery_scope(self, props: Mapping[str, Any]) -> str:
        return str(props.get("vault_id") or "")

    def recovery_listing(self, client: Any, props: Mapping[str, Any]) -> Named:
        return idempotency.role_listing(client, self.recovery_scope(props), str(props["name"]))

    def validate(self, news: dict[str, Any]) -> list[CheckFailure]:
        f = v.check_unknown_keys(news, self.input_keys)
        f += v.check_id("vault_id", news.get("vault_id"))
        f += v.check_id("adopt_id", news.get("adopt_id"), required=False)
        f += v.check_role_name("name", news.get("name"))
        name = news.get("name")
        if isinstance(name, str) and name.upper() in SYSTEM_ROLES:
            f.append(CheckFailure("name", f"name {name!r} is a Skyflow system role; pick another "
                                  "name, or use SystemRole / RoleAssignment(role_name=...) to "
                                  "refer to the built-in role"))
        f += v.check_string("display_name", news.get("display_name"))
        f += v.check_string("description", news.get("description"), max_len=v.MAX_DESCRIPTION,
                            single_line=False)
        f += v.check_string_list("permissions", news.get("permissions"), max_items=200,
                                 item_pattern=v.PERMISSION_RE, item_hint=PERMISSION_HINT)
        f += v.check_string_list("levels", news.get("levels"), max_items=20,
                                 item_pattern=v.re.compile(r"^[A-Z][A-Z0-9_]*$"),
                                 item_hint=LEVEL_HINT)
        return f

    @staticmethod
    def _definition(props: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "name": props["name"],
            "displayName": props.get("display_name") or props["name"],
            "description": props.get("description") or "",
            "permissions": list(props.get("permissions") or []),
            "levels": list(props.get("levels") or []),
            "type": "CUSTOM",
        }

    def _adopt(self, props: dict[str, Any], role_id: str | None = None) -> CreateResult:
        """Take over an existing custom role: its definition is set to the declared one."""
        role_id = str(role_id or props["adopt_id"])
        got = self.call(f"adopt role {role_id}", self.client.get_role, role_id, missing_ok=True)
        role = (got or {}).get("role")
        if not role:
            raise SkyflowProviderError(f"adopt_id {role_id}: Skyflow has no such role; check the "
                                       "id or remove adopt_id to create a new role")
        vault = (role.get("resource") or {}).get("ID")
        if vault and vault != props["vault_id"]:
            raise SkyflowProviderError(f"adopt_id {role_id}: the role belongs to vault {vault}, "
                                       f"not vault_id {props['vault_id']}")
        if str((role.get("definition") or {}).get("type") or "").upper() == "SYSTEM":
            raise SkyflowProviderError(f"adopt_id {role_id} is a system role, which cannot be "
                                       "managed; use SystemRole / get_system_role instead")
        outs = self.update(role_id, {"namespace": role.get("namespace") or ""}, props).outs or {}
        return CreateResult(role_id, outs)

    def create(self, props: dict[str, Any]) -> CreateResult:
        props = self.apply_defaults(props)
        if props.get("adopt_id"):
            return self._adopt(props)
        what = f"create role {props['name']!r}"
        orphan = self.leftover(props, what)
        if orphan is not None:  # left by a killed run: take it over
            return self._adopt(props, str(orphan["ID"]))
        body = {
            "roleDefinition": self._definition(props),
            "resource": {"ID": props["vault_id"], "type": "VAULT"},
        }
        resp = self.create_unique(what, props, idempotency.create_role, self.client, body)
        role_id = resp.get("ID") or ""
        if not role_id:
            raise SkyflowProviderError("Skyflow: create role returned no ID")
        outs = {k: props.get(k) for k in self.input_keys}
        # No GET for the namespace: derived from a listed role's when the format allows,
        # else "" until the next refresh reads it (docs/performance.md).
        outs["namespace"] = str(resp.get("namespace") or "")
        return CreateResult(role_id, outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        got = self.call(f"read role {id_}", self.client.get_role, id_, missing_ok=True)
        role = (got or {}).get("role")
        if not role:
            return ReadResult(None, {})
        definition = role.get("definition") or {}
        resource = role.get("resource") or {}
        outs = {k: props.get(k) for k in ROLE.state_keys}
        outs.update(
            vault_id=resource.get("ID") or props.get("vault_id"),
            name=definition.get("name", props.get("name")),
            display_name=definition.get("displayName", props.get("display_name")),
            description=definition.get("description", props.get("description")) or "",
            permissions=_same_order(props.get("permissions"), definition.get("permissions")),
            levels=_same_order(props.get("levels"), definition.get("levels")),
            namespace=role.get("namespace") or props.get("namespace") or "",
        )
        return ReadResult(id_, outs, {k: outs.get(k) for k in self.input_keys})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        news = self.apply_defaults(news)
        self.call(f"update role {id_}", self.client.update_role, id_,
                  {"roleDefinition": self._definition(news)})
        outs = carry(olds, self.output_keys)
        outs.update({k: news.get(k) for k in self.input_keys})
        return UpdateResult(outs)

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        if idempotency.adopted_this_run(self.client, id_):  # held by whoever took it over
            return
        self.call(f"delete role {id_}", self.client.delete_role, id_, missing_ok=True)


def _same_order(desired: Any, remote: Any) -> list[Any]:
    """Remote list in the desired order when they hold the same items (no spurious diff)."""
    remote_list = list(remote or [])
    desired_list = list(desired or [])
    if sorted(map(str, remote_list)) == sorted(map(str, desired_list)):
        return desired_list
    return remote_list


class Role(RoleOutputs, Resource, module="skyflow", name="Role"):
    """A custom role on a vault."""

    def __init__(
        self,
        resource_name: str,
        args: RoleArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props, opts = declare(ROLE, args, kwargs, RoleArgs, opts)
        super().__init__(RoleProvider(), resource_name, props, opts)


__all__ = ["Role", "RoleArgs", "RoleProvider", "SystemRole", "SystemRoleArgs", "SystemRoleProvider",
           "get_system_role"]
