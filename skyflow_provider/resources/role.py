"""``Role`` (a custom vault role) and ``SystemRole`` / ``get_system_role`` (look up a built-in one).

Why a lookup *resource* for system roles: every vault has its own id for VAULT_EDITOR etc., and
resolving it needs the admin credentials, which live only in the provider process (stack config,
never the program). A ``SystemRole`` resolves the id there, creates nothing in Skyflow, and its
delete is a no-op.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    UpdateResult,
)

from ..api import idempotency
from . import checks as v
from .base import (
    SkyflowProvider,
    SkyflowProviderError,
    carry,
    is_unknown,
    merge_args,
)

SYSTEM_ROLES = ("VAULT_OWNER", "VAULT_EDITOR", "VAULT_VIEWER", "PIPELINE_MANAGER",
                "CONNECTION_MANAGER")

INPUT_KEYS = ("vault_id", "name", "display_name", "description", "permissions", "levels",
              "adopt_id")
OUTPUT_KEYS = ("namespace",)


@dataclass
class RoleArgs:
    """Inputs of a custom Role."""

    vault_id: pulumi.Input[str]
    """The vault the role belongs to. Changing it replaces the role."""
    name: pulumi.Input[str]
    """Unique per vault; letters, digits, ``_ - .``. Updates in place."""
    display_name: pulumi.Input[str] | None = None
    """Defaults to ``name``. Updates in place."""
    description: pulumi.Input[str] | None = None
    """Updates in place."""
    permissions: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    """Permission strings such as ``vaults.read:upstream``. Updates in place. Data access comes
    from policies attached to the role (``PolicyAssignment``)."""
    levels: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    """Levels the role applies at (e.g. ``VAULT``). Updates in place."""
    adopt_id: pulumi.Input[str] | None = None
    """Bring this existing custom role (its id) under management instead of creating one
    (``pulumi import`` does not work for dynamic resources); its definition is set to the
    declared one."""


PERMISSION_HINT = "permissions look like 'resource.verb[:qualifier]', e.g. 'vaults.read:upstream'"
LEVEL_HINT = "levels are upper-case words such as 'VAULT'"


class RoleProvider(SkyflowProvider):
    """CRUD for /v1/roles (custom roles only)."""

    input_keys = INPUT_KEYS
    output_keys = OUTPUT_KEYS
    replace_keys = ("vault_id",)

    def apply_defaults(self, news: dict[str, Any]) -> dict[str, Any]:
        out = dict(news)
        if out.get("display_name") in (None, ""):
            out["display_name"] = out.get("name")
        out.setdefault("description", "")
        out.setdefault("permissions", [])
        out.setdefault("levels", [])
        return out

    def changed_keys(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        return [k for k in super().changed_keys(olds, news) if k != "adopt_id"]

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        result = super().diff(id_, olds, news)
        return adopt_diff(result, id_, news)

    def validate(self, news: dict[str, Any]) -> list[CheckFailure]:
        f = v.check_unknown_keys(news, INPUT_KEYS)
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

    def _adopt(self, props: dict[str, Any]) -> CreateResult:
        """Take over an existing custom role: its definition is set to the declared one."""
        role_id = str(props["adopt_id"])
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
        body = {
            "roleDefinition": self._definition(props),
            "resource": {"ID": props["vault_id"], "type": "VAULT"},
        }
        resp = self.call(f"create role {props['name']!r}", idempotency.create_role,
                         self.client, body)
        role_id = resp.get("ID") or ""
        if not role_id:
            raise SkyflowProviderError("Skyflow: create role returned no ID")
        outs = {k: props.get(k) for k in INPUT_KEYS}
        try:  # best effort: a label must not fail (and leak) a created role
            got = self.client.get_role(role_id)
        except Exception:  # noqa: BLE001
            got = None
        outs["namespace"] = ((got or {}).get("role") or {}).get("namespace") or ""
        return CreateResult(role_id, outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        got = self.call(f"read role {id_}", self.client.get_role, id_, missing_ok=True)
        role = (got or {}).get("role")
        if not role:
            return ReadResult(None, {})
        definition = role.get("definition") or {}
        resource = role.get("resource") or {}
        outs = {k: props.get(k) for k in INPUT_KEYS + OUTPUT_KEYS}
        outs.update(
            vault_id=resource.get("ID") or props.get("vault_id"),
            name=definition.get("name", props.get("name")),
            display_name=definition.get("displayName", props.get("display_name")),
            description=definition.get("description", props.get("description")) or "",
            permissions=_same_order(props.get("permissions"), definition.get("permissions")),
            levels=_same_order(props.get("levels"), definition.get("levels")),
            namespace=role.get("namespace") or props.get("namespace") or "",
        )
        return ReadResult(id_, outs, {k: outs.get(k) for k in INPUT_KEYS})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        news = self.apply_defaults(news)
        self.call(f"update role {id_}", self.client.update_role, id_,
                  {"roleDefinition": self._definition(news)})
        outs = carry(olds, OUTPUT_KEYS)
        outs.update({k: news.get(k) for k in INPUT_KEYS})
        return UpdateResult(outs)

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        self.call(f"delete role {id_}", self.client.delete_role, id_, missing_ok=True)


def adopt_diff(result: DiffResult, id_: str, news: Mapping[str, Any]) -> DiffResult:
    """adopt_id only matters at creation; naming a different object than the one held
    replaces (adopts that one instead)."""
    adopt = news.get("adopt_id")
    if adopt and not is_unknown(adopt) and adopt != id_:
        result.replaces = [*(result.replaces or []), "adopt_id"]
        result.changes = True
    return result


def _same_order(desired: Any, remote: Any) -> list[Any]:
    """Remote list in the desired order when they hold the same items (no spurious diff)."""
    remote_list = list(remote or [])
    desired_list = list(desired or [])
    if sorted(map(str, remote_list)) == sorted(map(str, desired_list)):
        return desired_list
    return remote_list


class Role(Resource, module="skyflow", name="Role"):
    """A custom role on a vault."""

    vault_id: pulumi.Output[str]
    name: pulumi.Output[str]
    display_name: pulumi.Output[str]
    description: pulumi.Output[str]
    permissions: pulumi.Output[list[str]]
    levels: pulumi.Output[list[str]]
    adopt_id: pulumi.Output[str | None]
    namespace: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: RoleArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props = merge_args(args, kwargs, RoleArgs, fill=INPUT_KEYS + OUTPUT_KEYS)
        super().__init__(RoleProvider(), resource_name, props, opts)


# ----- system roles ------------------------------------------------------------------------------
SYSTEM_INPUT_KEYS = ("vault_id", "name")


@dataclass
class SystemRoleArgs:
    """Inputs of a SystemRole lookup."""

    vault_id: pulumi.Input[str]
    """The vault whose built-in role to find."""
    name: pulumi.Input[str]
    """A system role name: VAULT_OWNER, VAULT_EDITOR, VAULT_VIEWER, PIPELINE_MANAGER,
    CONNECTION_MANAGER (other names are looked up as given)."""


# System-role ids per process: (settings identity, vault id, name) -> id. System roles cannot be
# deleted or renamed, so N assignments of VAULT_VIEWER list the vault's roles once, not N times.
# Custom roles are never cached (they can be deleted and recreated under the same name).
_ROLE_ID_CACHE: dict[tuple[Any, ...], str] = {}
_ROLE_ID_LOCKS: dict[tuple[Any, ...], threading.Lock] = {}
_ROLE_ID_GUARD = threading.Lock()


def _settings_identity(client: Any) -> tuple[Any, ...] | None:
    """Which Skyflow account the client talks to; None (no caching) when it cannot tell."""
    settings = getattr(client, "settings", None)
    url, account = (getattr(settings, "management_url", None),
                    getattr(settings, "account_id", None))
    if not url or not account:
        return None
    return (str(url), str(account))


def _lookup_role(client: Any, vault_id: str, name: str, system_only: bool
                 ) -> tuple[str | None, bool]:
    """(id, is a system role) of the vault role named ``name``."""
    roles = client.list_roles(vault_id, resource_type="VAULT", name=name)
    for role in roles or []:
        definition = role.get("definition") or {}
        if definition.get("name") != name:
            continue
        system = definition.get("type") in (None, "", "SYSTEM")
        if system_only and not system:
            continue
        if role.get("ID"):
            return str(role["ID"]), definition.get("type") == "SYSTEM"
    return None, False


def find_role_id(client: Any, vault_id: str, name: str, system_only: bool = True) -> str | None:
    """The id of the vault role named ``name`` (None when absent).

    System roles (``definition.type == "SYSTEM"``) are remembered for the life of the process;
    concurrent callers for the same key wait for one lookup instead of each listing the roles.
    """
    identity = _settings_identity(client)
    if identity is None:
        return _lookup_role(client, vault_id, name, system_only)[0]
    key = (identity, vault_id, name)
    cached = _ROLE_ID_CACHE.get(key)
    if cached is not None:
        return cached
    with _ROLE_ID_GUARD:
        lock = _ROLE_ID_LOCKS.setdefault(key, threading.Lock())
    with lock:
        cached = _ROLE_ID_CACHE.get(key)
        if cached is not None:
            return cached
        role_id, system = _lookup_role(client, vault_id, name, system_only)
        if role_id and system:
            _ROLE_ID_CACHE[key] = role_id
        return role_id


def forget_role_id(role_id: str) -> None:
    """Drop a cached id (e.g. after a 404 for it: the vault is gone)."""
    with _ROLE_ID_GUARD:
        for key in [k for k, v in _ROLE_ID_CACHE.items() if v == role_id]:
            _ROLE_ID_CACHE.pop(key, None)


class SystemRoleProvider(SkyflowProvider):
    """Resolves a built-in role's id; never creates or deletes anything in Skyflow."""

    input_keys = SYSTEM_INPUT_KEYS
    output_keys = ("role_id",)
    replace_keys = SYSTEM_INPUT_KEYS

    def validate(self, news: dict[str, Any]) -> list[CheckFailure]:
        f = v.check_unknown_keys(news, SYSTEM_INPUT_KEYS)
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
        return ReadResult(role_id, outs, {k: outs[k] for k in SYSTEM_INPUT_KEYS})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult({"vault_id": news.get("vault_id"), "name": news.get("name"),
                             "role_id": olds.get("role_id") or id_})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """System roles belong to the vault: nothing to delete."""


class SystemRole(Resource, module="skyflow", name="SystemRole"):
    """Look-up of a vault's built-in role; ``id`` / ``role_id`` is the role id."""

    vault_id: pulumi.Output[str]
    name: pulumi.Output[str]
    role_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: SystemRoleArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props = merge_args(args, kwargs, SystemRoleArgs, fill=SYSTEM_INPUT_KEYS + ("role_id",))
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
