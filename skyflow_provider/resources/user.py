"""``User``: a person in the account (a Studio user), so onboarding and offboarding is a pull
request.

Created by email (Skyflow invites that address), renamed and (de)activated in place, removed on
delete. Roles come through ``RoleAssignment(member_id=user.id, member_type="USER")``. An email
cannot change, so a new one replaces the user (deleted first: emails are unique). A person who
already has a user is never taken over silently: ``adopt_id`` does that deliberately.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CreateResult, ReadResult, Resource, UpdateResult

from ..api import idempotency, vault_creates
from ..api.idempotency import Named
from . import checks as v
from .args import UserArgs
from .base import SkyflowProvider, SkyflowProviderError, carry, declare, same_value
from .declarations import USER
from .outputs import UserOutputs
from .recovered import NamedRecovery

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
MAX_EMAIL = 254


def _status(active: Any) -> str:
    return "INACTIVE" if active is False else "ACTIVE"


class UserProvider(NamedRecovery, SkyflowProvider):
    """CRUD for /v1/users."""

    spec = USER
    recovery_kind, recovery_what = "User", "user"

    def recovery_name(self, props: Mapping[str, Any]) -> str:
        """A user is known by its email (unique in the account, any case)."""
        return str(props.get("email") or "").lower()

    def recovery_listing(self, client: Any, props: Mapping[str, Any]) -> Named:
        return vault_creates.user_listing(client, self.recovery_name(props))

    def validate(self, news: dict[str, Any]) -> list[CheckFailure]:
        f = v.check_unknown_keys(news, self.input_keys)
        f += v.check_string("email", news.get("email"), required=True, max_len=MAX_EMAIL)
        email = news.get("email")
        if not f and isinstance(email, str) and not EMAIL_RE.match(email):
            f.append(CheckFailure("email", f"email {email!r} is not an email address; write it "
                                  "as name@example.com"))
        f += v.check_name("name", news.get("name"), max_len=256)
        f += v.check_bool("active", news.get("active"))
        f += v.check_id("adopt_id", news.get("adopt_id"), required=False)
        return f

    def _remote(self, user_id: str) -> dict[str, Any] | None:
        got = self.call(f"read user {user_id}", self.client.get_user, user_id, missing_ok=True)
        user = (got or {}).get("user")
        if not user or user.get("status") == "DELETED":
            return None
        return dict(user)

    def _set(self, user_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> str:
        """Send the name and status when they differ from ``olds``; the status it has now."""
        spec: dict[str, Any] = {}
        if not same_value(olds.get("name"), news.get("name")):
            spec["name"] = news["name"]
        status = _status(news.get("active"))
        if olds.get("status") != status and (news.get("active") is False
                                             or olds.get("status") == "INACTIVE"):
            spec["status"] = status  # never "activate" a pending invitation
        if spec:
            self.call(f"update user {user_id}", self.client.update_user, user_id, {"user": spec})
        return str(spec.get("status") or olds.get("status") or status)

    def _adopt(self, props: dict[str, Any], user_id: str) -> CreateResult:
        """Take over an existing user: its name and status become the declared ones."""
        user = self._remote(user_id)
        if user is None:
            raise SkyflowProviderError(f"adopt_id {user_id}: Skyflow has no such user; check the "
                                       "id or remove adopt_id to invite the person")
        email = str((user.get("userIdentity") or {}).get("email") or "")
        if email.lower() != str(props["email"]).lower():
            raise SkyflowProviderError(f"adopt_id {user_id}: the user's email is {email!r}, not "
                                       f"{props['email']!r}")
        olds = {"name": user.get("name"), "status": user.get("status")}
        outs = {k: props.get(k) for k in self.input_keys}
        outs["status"] = self._set(user_id, olds, props)
        return CreateResult(user_id, outs)

    def create(self, props: dict[str, Any]) -> CreateResult:
        props = self.apply_defaults(props)
        if props.get("adopt_id"):
            return self._adopt(props, str(props["adopt_id"]))
        email = str(props["email"])
        what = f"create user {email!r}"
        orphan = self.leftover(props, what)
        if orphan is not None:  # left by a killed run: take it over
            return self._adopt(props, str(orphan["ID"]))
        body = {"user": {"name": props["name"], "userIdentity": {"email": email}}}
        resp = self.create_unique(what, props, vault_creates.create_user, self.client, body)
        user_id = str(resp.get("ID") or "")
        if not user_id:
            raise SkyflowProviderError("Skyflow: create user returned no ID")
        outs = {k: props.get(k) for k in self.input_keys}
        # No GET after the create: the status is read on the next refresh (an invitation may
        # show PENDING until the person accepts it).
        outs["status"] = "ACTIVE"
        if props["active"] is False or resp.get("adopted"):
            with self.undo_on_failure(lambda: self.client.delete_user(user_id)):
                user = self._remote(user_id) if resp.get("adopted") else None
                olds = {"name": (user or props).get("name"),
                        "status": (user or {}).get("status") or "ACTIVE"}
                outs["status"] = self._set(user_id, olds, props)
        return CreateResult(user_id, outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        user = self._remote(id_)
        if user is None:
            return ReadResult(None, {})
        outs = {k: props.get(k) for k in USER.state_keys}
        if not props:  # `pulumi import`: only the id is known
            outs.update(USER.defaults())
        status = str(user.get("status") or "")
        outs.update(email=(user.get("userIdentity") or {}).get("email", props.get("email")),
                    name=user.get("name", props.get("name")), status=status,
                    active=status != "INACTIVE")
        return ReadResult(id_, outs, {k: outs.get(k) for k in self.input_keys})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        news = self.apply_defaults(news)
        outs = carry(olds, self.output_keys)
        outs["status"] = self._set(id_, olds, news)
        outs.update({k: news.get(k) for k in self.input_keys})
        return UpdateResult(outs)

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        if idempotency.adopted_this_run(self.client, id_):  # held by whoever took it over
            return
        self.call(f"delete user {id_}", self.client.delete_user, id_, missing_ok=True)


class User(UserOutputs, Resource, module="skyflow", name="User"):
    """A person in the account, invited by email; removed on delete."""

    def __init__(
        self,
        resource_name: str,
        args: UserArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props, opts = declare(USER, args, kwargs, UserArgs, opts)
        super().__init__(UserProvider(), resource_name, props, opts)


__all__ = ["User", "UserArgs", "UserProvider"]
