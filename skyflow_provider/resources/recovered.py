"""What the resources whose create a killed run may leave behind share (``recovery/``).

Why one module: seven resource types (service accounts, roles, policies, vaults, users, STS
configs and the two extra-key types) take part in the same recovery: the check of a new resource
reads the checkpoint before this run's first create can be scheduled, says at ``preview`` what
the create will do about a killed run's leftover, and the create of a named object takes over only
what Skyflow's audit log proves this stack made. Each type says only what differs: its kind, the
scope of its name, and how its name is looked up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi.dynamic import CheckResult

from ..api.idempotency import Named
from ..http.errors import ConflictError, SkyflowError
from ..recovery import checkpoint, takeover
from ..recovery.checkpoint import Creating
from .base import CONFLICT_HINT, SkyflowProviderError, raise_clean, strip_provider


class RecoversCreates:
    """Mixin, listed before the provider base: the recovery part of ``check``."""

    def preview_recovery(self, inputs: dict[str, Any]) -> None:
        """Warn at check what this create will do about a killed run's leftover."""
        raise NotImplementedError

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        result: CheckResult = super().check(olds, news)  # type: ignore[misc]
        if not strip_provider(olds):  # a new resource: what a killed run left pending, read
            checkpoint.CHECKPOINT.ensure()  # before this run's first create can be scheduled
            if not result.failures:
                self.preview_recovery(dict(result.inputs))
        return result


class NamedRecovery(RecoversCreates):
    """A resource with a name: a killed run's object of that name is taken over only with proof
    (``recovery/takeover.py``); a name Skyflow keeps unique, refused as taken, is explained."""

    #: the checkpoint's resource type (``ServiceAccount``, ``Role``, ...)
    recovery_kind = ""
    #: what messages call it ("service account", ...)
    recovery_what = ""
    client: Any
    call: Callable[..., Any]

    def recovery_name(self, props: Mapping[str, Any]) -> str:
        return str(props.get("name") or "")

    def recovery_scope(self, props: Mapping[str, Any]) -> str:
        """Where the name is unique: its vault for roles and policies, else ""."""
        return ""

    def recovery_listing(self, client: Any, props: Mapping[str, Any]) -> Named:
        """The live objects of this resource's name (called only when needed)."""
        raise NotImplementedError

    def _creating(self, props: Mapping[str, Any]) -> Creating:
        return Creating(self.recovery_kind, self.recovery_scope(props), self.recovery_name(props))

    def preview_recovery(self, inputs: dict[str, Any]) -> None:
        """An unknown name matches no pending create, so a preview of it costs nothing."""
        if self.recovery_name(inputs):
            takeover.preview(lambda: self.client, self._creating(inputs),
                             lambda c: self.recovery_listing(c, inputs),
                             f"create {self.recovery_what} {self.recovery_name(inputs)!r}")

    def leftover(self, props: Mapping[str, Any], what: str) -> Mapping[str, Any] | None:
        """The object a killed run of this stack left under this name, to take over (None:
        create; no call unless the checkpoint names a killed run's pending create of it)."""
        return self.call(what, takeover.find_leftover, self.client, self._creating(props),
                         lambda: self.recovery_listing(self.client, props)(), what)

    def create_unique(self, what: str, props: Mapping[str, Any], fn: Callable[..., Any],
                      *args: Any) -> Any:
        """A create of a name Skyflow keeps unique (a role on its vault, a vault in its
        workspace, a user's email, an STS config): refused as taken, one look-up names the
        holder and how to take it over deliberately (``adopt_id``)."""
        try:
            return fn(*args)
        except SkyflowError as err:
            conflict = isinstance(err, ConflictError)
            message = conflict and takeover.conflict_message(
                self.client, what, self.recovery_name(props),
                self.recovery_listing(self.client, props))
            if not message:
                raise_clean(err, what, CONFLICT_HINT if conflict else None)
            raise SkyflowProviderError(f"Skyflow: {message}") from None


__all__ = ["NamedRecovery", "RecoversCreates"]
