"""``RoleAssignment``: one role granted to one member (service account or user).

Why the id is ``<role id>:<member id>``: Skyflow has no assignment object of its own, only the
(role, member) pair, so the id is derived from it. That also means a replacement must delete
first (the new assignment has the same id), and create adopts an assignment that already
exists instead of failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CreateResult, ReadResult, Resource, UpdateResult

from ..api import idempotency
from ..http.errors import ConflictError, InvalidArgumentError, NotFoundError, SkyflowError
from . import checks as v
from .args import RoleAssignmentArgs
from .base import (
    SkyflowProvider,
    SkyflowProviderError,
    carry,
    declare,
    raise_clean,
    same_value,
)
from .conditions import check_condition
from .declarations import ROLE_ASSIGNMENT
from .field_groups import MEMBER_TYPE
from .outputs import RoleAssignmentOutputs
from .role_lookup import SYSTEM_ROLES, find_role_id, forget_role_id

MEMBER_TYPES = MEMBER_TYPE.values
def _member(props: Mapping[str, Any]) -> tuple[str, str]:
    member_id = props.get("service_account_id") or props.get("member_id") or ""
    member_type = props.get("member_type") or "SERVICE_ACCOUNT"
    return str(member_id), str(member_type)


class RoleAssignmentProvider(SkyflowProvider):
    """assign / unassign via /v1/roles/assign and /v1/roles/unassign."""

    # Replacements delete first (declared): the new assignment has the same id, so
    # create-before-delete would adopt it and then unassign it.
    spec = ROLE_ASSIGNMENT

    def validate(self, news: dict[str, Any]) -> list[CheckFailure]:
        f = v.check_unknown_keys(news, self.input_keys)
        role_id, vault_id, role_name = (news.get(k) for k in ("role_id", "vault_id", "role_name"))
        if role_id is not None:
            f += v.check_id("role_id", role_id)
            if role_name is not None:
                f.append(CheckFailure("role_name", "give either role_id or vault_id + role_name, "
                                      "not both"))
        elif role_name is not None or vault_id is not None:
            f += v.check_id("vault_id", vault_id)
            f += v.check_role_name("role_name", role_name)
        else:
            f.append(CheckFailure("role_id", "role_id is required (or vault_id + role_name, e.g. "
                                  f"role_name='VAULT_EDITOR'; system roles: "
                                  f"{', '.join(SYSTEM_ROLES)})"))
        sa_id, member_id = news.get("service_account_id"), news.get("member_id")
        member_type = news.get("member_type")
        f += v.check_enum("member_type", member_type, MEMBER_TYPES)
        if sa_id is not None and member_id is not None:
            f.append(CheckFailure("member_id", "give either service_account_id or member_id, "
                                  "not both"))
        elif sa_id is not None:
            f += v.check_id("service_account_id", sa_id)
            if member_type == "USER":
                f.append(CheckFailure("member_type", "member_type USER does not fit "
                                      "service_account_id; use member_id for users"))
        elif member_id is not None:
            f += v.check_id("member_id", member_id)
        else:
            f.append(CheckFailure("service_account_id", "service_account_id is required (or "
                                  "member_id + member_type for a user)"))
        f += check_condition("condition", news.get("condition"))
        return f

    def changed_keys(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        return [k for k in self.input_keys if not same_value(olds.get(k), news.get(k))]

    def _role_id(self, props: Mapping[str, Any]) -> str:
        if props.get("role_id"):
            return str(props["role_id"])
        vault_id, name = str(props["vault_id"]), str(props["role_name"])
        role_id = self.call(f"look up role {name!r} in vault {vault_id}", find_role_id,
                            self.client, vault_id, name, False)
        if not role_id:
            raise SkyflowProviderError(
                f"Skyflow: vault {vault_id} has no role named {name!r}; system roles are "
                f"{', '.join(SYSTEM_ROLES)}, custom roles must exist first (use role_id=Role.id)"
            )
        return str(role_id)

    def _assign(self, role_id: str, member_id: str, member_type: str, condition: Any) -> None:
        members = [{"ID": member_id, "type": member_type}]
        try:
            idempotency.assign_role(self.client, role_id, members, condition or None)
        except ConflictError as err:
            # Already assigned: adopt it if the member is really there.
            if self._is_member(role_id, member_id, member_type):
                return
            raise_clean(err, f"assign role {role_id} to {member_id}")
        except SkyflowError as err:
            if isinstance(err, NotFoundError):
                forget_role_id(role_id)  # a cached system-role id whose vault is gone
            raise_clean(err, f"assign role {role_id} to {member_id}")

    def _is_member(self, role_id: str, member_id: str,
                   member_type: str = "SERVICE_ACCOUNT") -> bool | None:
        """True/False, or None when the member itself is gone (a deleted role is simply not
        among the member's roles, so it reads as False: gone either way).

        One GET per assignment: the member's roles (``GET /v1/members/{id}/roles``, one page for
        a member with fewer than 25 roles), not every member of the role, which cost
        ceil((N+1)/25) GETs per assignment when N accounts share a role. If the service refuses
        that call as malformed (400), fall back to listing the role's members.
        """
        try:
            roles = self.client.list_member_roles(member_id, member_type)
        except NotFoundError:
            return None
        except InvalidArgumentError:
            return self._in_role_members(role_id, member_id)
        except SkyflowError as err:
            raise_clean(err, f"list roles of {member_type} {member_id}")
        return any(str(((r or {}).get("role") or {}).get("ID")) == role_id for r in roles or [])

    def _in_role_members(self, role_id: str, member_id: str) -> bool | None:
        """The old way: page through the role's members (None when the role is gone)."""
        members = self.call(f"list members of role {role_id}", self.client.list_role_members,
                            role_id, missing_ok=True)
        if members is None:
            return None
        return any(str(m.get("ID")) == member_id for m in members)

    def create(self, props: dict[str, Any]) -> CreateResult:
        props = self.apply_defaults(props)
        role_id = self._role_id(props)
        member_id, member_type = _member(props)
        self._assign(role_id, member_id, member_type, props.get("condition"))
        outs = {k: props.get(k) for k in self.input_keys}
        outs.update(resolved_role_id=role_id, resolved_member_id=member_id)
        return CreateResult(f"{role_id}:{member_id}", outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        role_id = props.get("resolved_role_id") or id_.split(":", 1)[0]
        member_id = props.get("resolved_member_id") or id_.split(":", 1)[-1]
        member_type = str(props.get("member_type") or "SERVICE_ACCOUNT")
        if not self._is_member(str(role_id), str(member_id), member_type):
            return ReadResult(None, {})
        outs = {k: props.get(k) for k in ROLE_ASSIGNMENT.state_keys}
        if not props:  # `pulumi import` (native provider): only the id is known
            outs.update(role_id=role_id, member_type=member_type, resolved_role_id=role_id,
                        resolved_member_id=member_id)
            outs["service_account_id" if member_type == "SERVICE_ACCOUNT" else "member_id"] = \
                member_id
        return ReadResult(id_, outs, {k: outs.get(k) for k in self.input_keys})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        news = self.apply_defaults(news)
        role_id = str(olds.get("resolved_role_id") or id_.split(":", 1)[0])
        member_id, member_type = _member(news)
        if not same_value(olds.get("condition"), news.get("condition")):
            members = [{"ID": member_id, "type": member_type}]
            self.call(f"unassign role {role_id} from {member_id}", self.client.unassign_role,
                      role_id, members, missing_ok=True)
            self._assign(role_id, member_id, member_type, news.get("condition"))
        outs = carry(olds, self.output_keys)
        outs.update({k: news.get(k) for k in self.input_keys})
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        role_id = str(props.get("resolved_role_id") or id_.split(":", 1)[0])
        member_id = str(props.get("resolved_member_id") or id_.split(":", 1)[-1])
        member_type = props.get("member_type") or "SERVICE_ACCOUNT"
        self.call(f"unassign role {role_id} from {member_id}", self.client.unassign_role,
                  role_id, [{"ID": member_id, "type": member_type}], missing_ok=True)


class RoleAssignment(RoleAssignmentOutputs, Resource, module="skyflow", name="RoleAssignment"):
    """Grants a role to a service account or user; id = ``<role id>:<member id>``."""

    def __init__(
        self,
        resource_name: str,
        args: RoleAssignmentArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props, opts = declare(ROLE_ASSIGNMENT, args, kwargs, RoleAssignmentArgs, opts)
        super().__init__(RoleAssignmentProvider(), resource_name, props, opts)


__all__ = ["RoleAssignment", "RoleAssignmentArgs", "RoleAssignmentProvider"]
