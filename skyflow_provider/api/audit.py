"""Proof of who made an object, read from Skyflow's audit log (``GET /v1/audit/events``).

Why: a name is not an identity (Skyflow lets several service accounts share one) and
``BasicAudit.CreatedBy`` names an identity that several stacks may share, so neither tells this
stack's object from another's. The audit log records, for every request, the token it came
with: its ``jti`` (``jwtID``) and its context identifier (``bearerTokenContextID``). The
provider's token carries the stack's tag as its ctx (``ClientBase.owner_tag``; keyless: the ctx
the STS gives when it carries the tag as ``aud``, :func:`keyless_proof`) and the client
remembers the jti of every token it used (``TokenProvider.jwt_ids``), so two questions have
exact answers:

* *made by this stack*: a create answered 2xx whose token carried this stack's tag (any run, any
  machine: the proof lives in Skyflow, not in the killed process);
* *made by this process*: a create whose token was one of this process's (a create whose answer
  was lost).

The server's filters narrow the query; every condition is checked again here on each event, so
a server that ignored a filter cannot make an object look like ours. When the log cannot be
read (no permission, no such endpoint) or the question cannot be asked (no tag: API-key or
bearer-token credentials; no jti), :class:`ProofUnavailable` says why, and callers delete or take
over nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..http.errors import (
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    SkyflowError,
    TransportError,
)

READ_ATTEMPTS = 3
READ_BACKOFF_S = 1.0
#: the collection a create is POSTed to, per kind of object
SERVICE_ACCOUNTS = "/v1/serviceAccounts"
ROLES = "/v1/roles"
POLICIES = "/v1/policies"
VAULTS = "/v1/vaults"
USERS = "/v1/users"
STS_CONFIGS = "/v1/sts/config"
#: the audit log's resource type of each kind (``<TYPE>/<id>`` in ``resourceIDs``; the spec's
#: enum has no STS-config type: the emulator files them under TOKEN)
TYPES = {SERVICE_ACCOUNTS: "SERVICE_ACCOUNT", ROLES: "ROLE", POLICIES: "POLICY",
         VAULTS: "VAULT", USERS: "USER", STS_CONFIGS: "TOKEN"}


class ProofUnavailable(Exception):
    """The audit log cannot answer (why, for the user: what to grant or configure)."""


@dataclass(frozen=True)
class Maker:
    """Who an event says made something: the identity and the ctx of its token."""

    actor: str
    ctx: str
    time: str

    def describe(self) -> str:
        tag = f", token ctx {self.ctx!r}" if self.ctx else ", a token without ctx"
        return f"{self.actor or 'an unknown identity'}{tag} at {self.time or 'an unknown time'}"


def _events(client: Any, filters: Mapping[str, str]) -> list[Mapping[str, Any]]:
    """The events matching ``filters``; a transient failure is retried (it is a read)."""
    for attempt in range(READ_ATTEMPTS):
        try:
            events = client.list_audit_events(dict(filters))
            return [e for e in events if isinstance(e, Mapping)]
        except PermissionDeniedError as err:
            raise ProofUnavailable(
                "this provider's identity may not read Skyflow's audit log (grant it the "
                f"permission to read audit events, e.g. ACCOUNT_ADMIN): {err.summary}") from None
        except (NotFoundError, InvalidArgumentError) as err:
            raise ProofUnavailable(f"Skyflow's audit log could not be read: {err.summary}") \
                from None
        except (ServerError, TransportError) as err:
            if attempt == READ_ATTEMPTS - 1:
                raise ProofUnavailable(f"reading Skyflow's audit log failed: {err.summary}") \
                    from None
            time.sleep(READ_BACKOFF_S * 2 ** attempt)
        except SkyflowError as err:
            raise ProofUnavailable(f"reading Skyflow's audit log failed: {err.summary}") \
                from None
    raise AssertionError("unreachable")  # pragma: no cover


def _ok(event: Mapping[str, Any]) -> bool:
    code = (event.get("response") or {}).get("code")
    return isinstance(code, int) and 200 <= code < 300


def _http(event: Mapping[str, Any]) -> tuple[str, str]:
    info = (event.get("request") or {}).get("httpInfo") or {}
    return str(info.get("method") or "").upper(), str(info.get("URI") or "").rstrip("/")


def _maker(event: Mapping[str, Any]) -> Maker:
    context = event.get("context") or {}
    return Maker(str(context.get("actor") or ""), str(context.get("bearerTokenContextID") or ""),
                 str((event.get("request") or {}).get("timestamp") or ""))


def context_id(ctx: object) -> str:
    """A ctx as Skyflow's audit log records it (``bearerTokenContextID``): a string as is, an
    object as compact JSON with sorted keys (an assumption the emulator shares; docs)."""
    if isinstance(ctx, str):
        return ctx
    return json.dumps(ctx, sort_keys=True, separators=(",", ":"))


def keyless_proof(ctx: object, stack_tag: str | None) -> tuple[str | None, str]:
    """``(proof, "")`` when the ctx Skyflow's STS gave the provider's keyless token names this
    stack (its ``aud`` is exactly ``stack_tag``, the audience the provider asked for), else
    ``(None, why)``: recovery then only reports (recovery/owner.py)."""
    if not stack_tag:
        return None, "the stack's tag is unknown (set skyflow:ownerTag)"
    if not isinstance(ctx, dict) or not ctx:
        return None, ("Skyflow's STS gave the provider's token no ctx: add aud to the STS "
                      "config's context_claims")
    aud = ctx.get("aud")
    if aud is None:
        return None, ("the ctx of the provider's STS token has no aud: add aud to the STS "
                      "config's context_claims (GitHubActionsIdentity and KubernetesIdentity "
                      "do)")
    if aud != stack_tag and aud != [stack_tag]:
        return None, (f"the provider's OIDC token has the audience {aud!r}, not this stack's tag "
                      f"{stack_tag!r}: leave skyflow:oidcAudience unset (github-actions), or "
                      f"give the platform's token that audience (GitLab id_tokens aud, a "
                      f"Kubernetes projected token's audience)")
    return context_id(ctx), ""


class Who:
    """Whose tokens count: the stack's tag (``ctx``), or this process's tokens (``jwt_ids``)."""

    def __init__(self, ctx: str | None = None, jwt_ids: Iterable[str] | None = None) -> None:
        self.ctx = ctx or None
        self.jwt_ids = frozenset(jwt_ids or ())

    @classmethod
    def stack(cls, client: Any) -> Who:
        """Tokens carrying this stack's tag, whichever run or machine used them."""
        tag = getattr(client, "owner_tag", None)
        if not tag:
            raise ProofUnavailable(
                getattr(client, "owner_tag_problem", "") or
                "the provider's token carries no tag naming this stack (only service-account "
                "credentials can carry one: skyflow:credentials or skyflow:credentialsFile)")
        return cls(ctx=tag)

    @classmethod
    def process(cls, client: Any) -> Who:
        """This process's own tokens."""
        jwt_ids = getattr(getattr(client, "tokens", None), "jwt_ids", None)
        if not jwt_ids:
            raise ProofUnavailable("this process's token has no id the audit log records "
                                   "(an API key, or a token that is not a JWT)")
        return cls(jwt_ids=jwt_ids)

    def filters(self) -> dict[str, str]:
        out = {}
        if self.ctx:
            out["filterOps.context.bearerTokenContextID"] = self.ctx
        if len(self.jwt_ids) == 1:
            out["filterOps.context.jwtID"] = next(iter(self.jwt_ids))
        return out

    def match(self, event: Mapping[str, Any]) -> bool:
        context = event.get("context") or {}
        if self.ctx and context.get("bearerTokenContextID") != self.ctx:
            return False
        return not self.jwt_ids or context.get("jwtID") in self.jwt_ids


def created(client: Any, collection: str, ids: Iterable[str], who: Who) -> set[str]:
    """Which of ``ids`` (service accounts, roles or policies: ``collection``) ``who`` created."""
    kind = TYPES[collection]
    wanted = {f"{kind}/{i}": str(i) for i in ids}
    if not wanted:
        return set()
    events = _events(client, {**who.filters(), "filterOps.httpMethod": "POST",
                              "filterOps.resourceIDs": ",".join(sorted(wanted))})
    found: set[str] = set()
    for event in events:
        if _ok(event) and _http(event) == ("POST", collection) and who.match(event):
            found.update(wanted[r] for r in event.get("resourceIDs") or [] if r in wanted)
    return found


def keys_created(client: Any, sa_id: str, who: Who, api_keys: bool) -> set[str]:
    """The keys (or API keys) of account ``sa_id`` that ``who`` minted: created, or made by a
    rotation (which returns a new key)."""
    base = f"{SERVICE_ACCOUNTS}/{sa_id}/{'apikey' if api_keys else 'keys'}"
    events = _events(client, {**who.filters(),
                              "filterOps.resourceIDs": f"SERVICE_ACCOUNT/{sa_id}"})
    found: set[str] = set()
    for event in events:
        method, uri = _http(event)
        minted = (method == "POST" and uri == base) or (
            method == "PUT" and uri.startswith(base + "/") and uri.endswith("/rotate"))
        if minted and _ok(event) and who.match(event):
            found.update(r.split("/", 1)[1] for r in event.get("resourceIDs") or []
                         if r.startswith("KEY/"))
    return found


def makers(client: Any, resource_ids: Iterable[str]) -> dict[str, Maker]:
    """Who created each of ``resource_ids`` (``<TYPE>/<id>``), for messages; ``{}`` when the log
    cannot say (then the message says less, nothing else changes)."""
    wanted = set(resource_ids)
    if not wanted:
        return {}
    try:
        events = _events(client, {"filterOps.resourceIDs": ",".join(sorted(wanted)),
                                  "filterOps.actionType": "CREATE"})
    except ProofUnavailable:
        return {}
    out: dict[str, Maker] = {}
    for event in events:
        method, uri = _http(event)
        if not _ok(event) or method != "POST":
            continue
        for r in event.get("resourceIDs") or []:
            if r in wanted and r not in out and _creates(uri, r):
                out[r] = _maker(event)
    return out


def _creates(uri: str, resource_id: str) -> bool:
    """Whether a POST to ``uri`` is the create of ``resource_id`` (not a write naming it)."""
    kind = resource_id.split("/", 1)[0]
    if kind == "KEY":
        return uri.endswith(("/keys", "/apikey"))
    return any(uri == collection and kind == t for collection, t in TYPES.items())


__all__ = ["POLICIES", "ROLES", "SERVICE_ACCOUNTS", "STS_CONFIGS", "USERS", "VAULTS", "Maker",
           "ProofUnavailable", "Who", "created", "keys_created", "makers"]
