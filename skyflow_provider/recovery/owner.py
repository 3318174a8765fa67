"""The stack's tag, ``pulumi:<project>/<stack>``: the context identifier (``ctx``) of the
provider's own token, so that Skyflow's audit log records which stack made what.

Why a tag in the token: recovery may delete or take over only what a run of *this* stack made
(docs/reliability.md), and after a SIGKILL of every process, maybe on another CI machine, the only
witness that survives is Skyflow itself. Every request the provider sends carries its token; the
audit log keeps the token's ctx as ``bearerTokenContextID``. One filter then asks "which objects
did a token of this stack create", for every run that ever ran, on any machine.

Where the project and stack come from: the URN of the engine request being served
(``urn:pulumi:<stack>::<project>::...``), in both forms. The native plugin binds it for the thread
serving a request (:func:`bind`); the dynamic-provider host does not hand it to providers, so it
is read from the host's own frame (its ``request`` argument) at the one moment it is needed, when
the process's client is made. ``skyflow:ownerTag`` overrides it (two backends holding stacks of the
same project and stack name that share one Skyflow account and admin identity: their default tags
coincide, so each needs its own; docs/reliability.md).

Keyless (docs/keyless.md): Skyflow's STS sets the token's ctx from the subject token's claims, so
the provider cannot put the tag there itself. It asks for an OIDC token whose *audience* is the
tag (GitHub Actions: the ``audience`` of the ID token request; other platforms: their own
setting), the STS config copies ``aud`` into ctx (``GitHubActionsIdentity`` and
``KubernetesIdentity`` do), and ``api.audit.keyless_proof`` accepts the ctx Skyflow gave as this
stack's proof only when its ``aud`` is exactly the tag. The whole ctx (repository, ref, ... and
the tag) is then the value the audit log records for this stack's keyless runs.
"""

from __future__ import annotations

import os
import sys
import threading
from types import FrameType

from . import lifeline

PREFIX = "pulumi:"
_local = threading.local()
#: frames searched for the dynamic host's ``request`` (its servicer method calls us a few frames
#: down: get_provider, the provider's method, our client property)
MAX_FRAMES = 60


def tag(project: str, stack: str) -> str:
    return f"{PREFIX}{project}/{stack}"


def parse_urn(urn: str | None) -> tuple[str, str] | None:
    """``(project, stack)`` of ``urn:pulumi:<stack>::<project>::<type>::<name>``."""
    if not urn or not urn.startswith("urn:pulumi:"):
        return None
    parts = urn[len("urn:pulumi:"):].split("::")
    if len(parts) < 3 or not parts[0] or not parts[1]:
        return None
    return parts[1], parts[0]


def bind(urn: str | None) -> None:
    """Bind (None: unbind) the URN of the engine request the current thread serves."""
    _local.urn = urn


def _dynamic_request_urn() -> str | None:
    """The URN of the gRPC request the dynamic-provider host is serving on this thread."""
    frame: FrameType | None = sys._getframe(1)  # noqa: SLF001 - no provider method gets it
    for _ in range(MAX_FRAMES):
        if frame is None:
            return None
        urn = getattr(frame.f_locals.get("request"), "urn", None)
        if isinstance(urn, str) and parse_urn(urn) is not None:
            return urn
        frame = frame.f_back
    return None


def current_urn() -> str | None:
    urn = getattr(_local, "urn", None)
    return urn if isinstance(urn, str) and urn else _dynamic_request_urn()


def resolve(configured: str | None = None) -> str | None:
    """The tag this process's token carries: ``skyflow:ownerTag``, else the project and stack of
    the request being served, else ``PULUMI_PROJECT`` and the CLI's ``--stack``; None when
    neither is known (then nothing can be proved, and recovery deletes nothing)."""
    if configured:
        return configured
    parsed = parse_urn(current_urn())
    if parsed is not None:
        return tag(*parsed)
    project, stack = os.environ.get("PULUMI_PROJECT"), lifeline.stack_name()
    return tag(project, stack) if project and stack else None


__all__ = ["bind", "current_urn", "parse_urn", "resolve", "tag"]
