"""``SystemRole`` / ``get_system_role``: look up a vault's built-in role (VAULT_EDITOR, ...).

Why a lookup *resource*: every vault has its own id for VAULT_EDITOR etc., and resolving it needs
the admin credentials, which live only in the provider process (stack config, never the
program). A ``SystemRole`` resolves the id there, creates nothing in Skyflow, and its delete is a
no-op.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CreateResult, ReadResult, Resource, UpdateResult

from . import checks as v
from .args import SystemRoleArgs
from .base import SkyflowProvider, SkyflowProviderError, declare
from .declarations import SYSTEM_ROLE
from .outputs import SystemRoleOutputs
from .role_lookup import SYSTEM_ROLES, find_role_id


class SystemRoleProvider(SkyflowProvider):
    """Resolves a built-in role's id; never creates or deletes anything in Skyflow."""

    spec = SYSTEM_ROLE

    def validate(self, news: dict[str, Any]) -> list[CheckFailure]:
        f = v.check_unknown_keys(news, self.input_keys)
        f += v.check_id("vault_id", news.get("vault_id"))
        f += v.check_role_name("name", news.get("name"))
        return f

    def _lookup(self, vault_id: str, name: str) -> str | None:
        return self.call(f"list roles of vault {vault_id}", find_role_id, self.client, vault_id,
                         name)

    def create(self, props: dict[str, Any]) -> CreateResult:
        role_id = self._lookup(props["vault_id"], props["name"])
        if not role_id:
            raise SkyflowProviderError(
                f"Skyflow: vault {props['vault_id']} has no system role named {props['name']!r}; "
                f"system roles are {', '.join(SYSTEM_ROLES)}"
            )
        return CreateResult(role_id, {"vault_id": props["vault_id"], "name": props["name"],
                                      "role_id": role_id})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        role_id = self._lookup(props.get("vault_id") or "", props.get("name") or "")
        if not role_id:
            return ReadResult(None, {})
        outs = {"vault_id": props.get("vault_id"), "name": props.get("name"), "role_id": role_id}
        return ReadResult(role_id, outs, {k: outs[k] for k in self.input_keys})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult({"vault_id": news.get("vault_id"), "name": news.get("name"),
                             "role_id": olds.get("role_id") or id_})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """System roles belong to the vault: nothing to delete."""


class SystemRole(SystemRoleOutputs, Resource, module="skyflow", name="SystemRole"):
    """Look-up of a vault's built-in role; ``id`` / ``role_id`` is the role id."""

    def __init__(
        self,
        resource_name: str,
        args: SystemRoleArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props, opts = declare(SYSTEM_ROLE, args, kwargs, SystemRoleArgs, opts)
        super().__init__(SystemRoleProvider(), resource_name, props, opts)


_SYSTEM_ROLE_CACHE: dict[tuple[str, str], SystemRole] = {}


def get_system_role(
    vault_id: pulumi.Input[str],
    name: str,
    resource_name: str | None = None,
    opts: pulumi.ResourceOptions | None = None,
) -> pulumi.Output[str]:
    """The id of ``vault_id``'s built-in role ``name`` (e.g. "VAULT_EDITOR"), as an Output.

    Declares (once per vault and name in this program) a ``SystemRole`` lookup named
    ``resource_name`` or ``system-role-<vault_id>-<name>``; a vault id that is an Output needs an
    explicit ``resource_name``.
    """
    if resource_name is None:
        if not isinstance(vault_id, str):
            raise TypeError("get_system_role: pass resource_name when vault_id is an Output")
        resource_name = f"system-role-{vault_id}-{name.lower().replace('_', '-')}"
    key = (resource_name, name)
    if key not in _SYSTEM_ROLE_CACHE:
        _SYSTEM_ROLE_CACHE[key] = SystemRole(resource_name, vault_id=vault_id, name=name, opts=opts)
    return _SYSTEM_ROLE_CACHE[key].role_id


__all__ = ["SystemRole", "SystemRoleArgs", "SystemRoleProvider", "get_system_role"]
