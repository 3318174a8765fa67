"""The module paths of the flat layout (before 0.2), kept importable.

Why: every dynamic resource's state holds its provider pickled *by module path*
(``skyflow_provider.service_account.ServiceAccountProvider``), and programs, scripts and docs import
``skyflow_provider.tokens`` and friends. A meta-path finder maps each old name to the module's new
home instead of one stub file per old module; both names then refer to the same module object,
so classes (and ``isinstance``) are shared.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import CodeType, ModuleType

PACKAGE = "skyflow_provider"

#: old module (relative to the package) -> its home now
MOVED: dict[str, str] = {
    "http_session": "http.transport",
    "errors": "http.errors",
    "redaction": "http.redaction",
    "credentials": "auth.credentials",
    "tokens": "auth.tokens",
    "settings": "api.settings",
    "client": "api.client",
    "idempotency": "api.idempotency",
    "provider_base": "resources.base",
    "validation": "resources.checks",
    "rotation": "resources.rotation",
    "api_key": "resources.api_key",
    "service_account": "resources.service_account",
    "service_account_key": "resources.service_account_key",
    "role": "resources.role",
    "policy": "resources.policy",
    "role_assignment": "resources.role_assignment",
    "policy_assignment": "resources.policy_assignment",
    "token_cli": "cli.token",
    "pending": "cli.pending",
}


class _AliasLoader(importlib.abc.Loader):
    """Loads an old name as the already-importable new module (one module object, two names)."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        """The target ran its code when it was imported; nothing more to do."""

    def get_code(self, fullname: str) -> CodeType | None:
        """The target's code, so ``python -m skyflow_provider.pending`` still runs."""
        spec = importlib.util.find_spec(self.target)
        loader = spec.loader if spec is not None else None
        get_code = getattr(loader, "get_code", None)
        return get_code(self.target) if get_code is not None else None


class LegacyFinder(importlib.abc.MetaPathFinder):
    """Finds ``skyflow_provider.<old>`` for the names in :data:`MOVED`."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        prefix, _, old = fullname.partition(".")
        if prefix != PACKAGE or old not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(f"{PACKAGE}.{MOVED[old]}"))


def install() -> None:
    """Put the finder on ``sys.meta_path`` once per process."""
    if not any(isinstance(f, LegacyFinder) for f in sys.meta_path):
        sys.meta_path.append(LegacyFinder())
