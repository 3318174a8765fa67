"""Users (Studio people): created by email, renamed, (de)activated, deleted.

There is no invitation flow in the emulator: a user is ``ACTIVE`` from creation until set
``INACTIVE``. Emails are unique in the account (case-insensitive). Deleting a user removes its
role assignments.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import bad_request, conflict
from ..state import State
from ..store import Tx
from ..util import audit, check_id, new_id, opt_obj, opt_str, touch
from .common import load

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
SETTABLE_STATUS = {"ACTIVE", "INACTIVE"}
STATUSES = {"NONE", "CREATED", "PENDING", "ACTIVE", "INACTIVE", "ARCHIVED", "DELETED"}
ADDRESS_KEYS = {"streetAddress", "city", "state", "country", "zip"}


def _address(value: Any, field: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - ADDRESS_KEYS:
        raise bad_request(f"{field}: an address of {sorted(ADDRESS_KEYS)}")
    if value.get("zip") is not None and not isinstance(value["zip"], int):
        raise bad_request(f"{field}.zip: must be an integer")
    return dict(value)


def _email(value: Any, field: str) -> str:
    if not isinstance(value, str) or not EMAIL_RE.match(value) or len(value) > 254:
        raise bad_request(f"{field}: a valid email address is required")
    return value


class Users:
    """The user backend of one emulator account."""

    def __init__(self, state: State) -> None:
        self.store = state.store
        self.account_id = state.account_id

    def _load(self, tx: Tx, user_id: str) -> dict[str, Any]:
        return load(tx, "user", user_id, "user", self.account_id)

    def get(self, user_id: str) -> dict[str, Any]:
        with self.store.read() as tx:
            return self._load(tx, user_id)

    def list_(self, *, account: str | None, email: str | None, name: str | None,
             status: str | None) -> list[dict[str, Any]]:
        if account not in (None, "", self.account_id):
            raise bad_request("accountID: does not match X-Skyflow-Account-ID")
        if status not in (None, "", "NONE") and status not in STATUSES:
            raise bad_request(f"filterOps.status: must be one of {sorted(STATUSES)}")
        with self.store.read() as tx:
            items = tx.find("user", account_id=self.account_id, name=name or None,
                            lookup=email.lower() if email else None)
        if status not in (None, "", "NONE"):
            items = [u for u in items if u["status"] == status]
        return items

    def create(self, *, actor: str, body: dict[str, Any]) -> str:
        if body.get("accountID") not in (None, "", self.account_id):
            raise bad_request("accountID: does not match X-Skyflow-Account-ID")
        spec = opt_obj(body, "user", "user")
        if spec is None:
            raise bad_request("user: required")
        identity = opt_obj(spec, "userIdentity", "user.userIdentity") or {}
        email = _email(identity.get("email"), "user.userIdentity.email")
        name = opt_str(spec, "name", "user.name", 256)
        status = spec.get("status") or "ACTIVE"
        if status not in SETTABLE_STATUS:
            raise bad_request("user.status: ACTIVE or INACTIVE")
        user: dict[str, Any] = {
            "ID": new_id(), "accountID": self.account_id,
            "name": name if name is not None else email.split("@", 1)[0],
            "userIdentity": {"email": email}, "status": status, "BasicAudit": audit(actor)}
        address = _address(spec.get("contactAddress"), "user.contactAddress")
        if address is not None:
            user["contactAddress"] = address
        with self.store.write() as tx:
            if tx.find("user", account_id=self.account_id, lookup=email.lower()):
                raise conflict(f"Conflict: a user with email {email} already exists")
            self._put(tx, user)
        return str(user["ID"])

    def _put(self, tx: Tx, user: dict[str, Any]) -> None:
        tx.put("user", user["ID"], user, account_id=self.account_id, parent=self.account_id,
               name=user["name"], lookup=user["userIdentity"]["email"].lower())

    def update(self, user_id: str, *, actor: str, spec: Any) -> str:
        if not isinstance(spec, dict):
            raise bad_request("user: required")
        with self.store.write() as tx:
            user = self._load(tx, user_id)
            identity = spec.get("userIdentity")
            if isinstance(identity, dict) and identity.get("email") not in (
                    None, user["userIdentity"]["email"]):
                raise bad_request("user.userIdentity.email: cannot be changed; create a user "
                                  "for the new address")
            name = opt_str(spec, "name", "user.name", 256)
            if name is not None:
                user["name"] = name
            if spec.get("status") not in (None, "", "NONE"):
                if spec["status"] not in SETTABLE_STATUS:
                    raise bad_request("user.status: ACTIVE or INACTIVE")
                user["status"] = spec["status"]
            address = _address(spec.get("contactAddress"), "user.contactAddress")
            if address is not None:
                user["contactAddress"] = address
            user["BasicAudit"] = touch(user["BasicAudit"], actor)
            self._put(tx, user)
        return str(user["ID"])

    def delete(self, user_id: str) -> str:
        with self.store.write() as tx:
            user = self._load(tx, check_id(user_id, "ID"))
            tx.drop_member_everywhere(user["ID"], "USER")
            tx.delete("user", user["ID"])
        return str(user["ID"])
