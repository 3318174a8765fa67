"""The role allow-list: names a browser may ask for, and the Skyflow role id behind each.

Why names: the page asks for ``{"role": "checkout"}`` and never learns or chooses role ids;
anything not on the list is refused, and each token is scoped to exactly one role
(``scope=role:<id>``), never to everything the service account holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ROLE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class RoleRequestError(Exception):
    """A request named no role where one is needed (400) or one not allowed (403)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RoleCatalog:
    """``name -> role id``; with exactly one entry, a request may omit the role."""

    roles: Mapping[str, str]

    def __post_init__(self) -> None:
        if not self.roles:
            raise ValueError("at least one role is needed (--role NAME=ROLE_ID): tokens are "
                             "always scoped to one role")
        for name, rid in self.roles.items():
            if not NAME_RE.match(name):
                raise ValueError(f"role name {name!r}: letters, digits, '_', '.', '-' (max 64)")
            if not ROLE_ID_RE.match(rid):
                raise ValueError(f"role {name!r}: id {rid!r} is not a Skyflow role id")

    @classmethod
    def parse(cls, specs: Iterable[str]) -> RoleCatalog:
        """From ``NAME=ROLE_ID`` strings (the ``--role`` option)."""
        roles: dict[str, str] = {}
        for spec in specs:
            name, sep, rid = spec.partition("=")
            name, rid = name.strip(), rid.strip()
            if not sep or not name or not rid:
                raise ValueError(f"--role {spec!r}: expected NAME=ROLE_ID")
            if name in roles:
                raise ValueError(f"--role {name!r} is given twice")
            roles[name] = rid
        return cls(roles)

    def resolve(self, name: str | None) -> tuple[str, str]:
        """``(name, role id)`` for a request's role name (None = not given)."""
        if name is None:
            if len(self.roles) == 1:
                only = next(iter(self.roles))
                return only, self.roles[only]
            raise RoleRequestError(
                "name a role: send {\"role\": \"<name>\"} (this backend serves several)", 400)
        if name not in self.roles:
            raise RoleRequestError("that role is not available from this backend", 403)
        return name, self.roles[name]

    @property
    def names(self) -> list[str]:
        return sorted(self.roles)
