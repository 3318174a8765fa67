"""The audit log: every Management API request the emulator served, and the query over it.

Why: Skyflow records each request in its audit log (spec tag Audit, ``v1AuditResponseEvent``):
who sent it (``actor``), with which token (``jwtID``, and the token's context identifier as
``bearerTokenContextID``), what it asked (URI, method, API name, action) and what came back
(code, message), with the ids of the resources involved. A client can prove from it which
objects a given token context created: the provider uses that to tell what a killed run of its
own stack made from what anybody else did (docs/reliability.md).

Recording is generic (the app calls :meth:`AuditLog.record` for every authenticated management
request; no route has code of its own): the action and resource type come from the route's
method and path template, the resource ids from its path parameters, from the id fields of its
body (``ID``, ``members``, ``roleIDs``) and, for writes, of its answer (``clientID``,
``keyID``, ``apiKeyID``, ``ID``). Never a body, header, query string, token or key.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from ..errors import bad_request
from ..state import State
from ..util import now

#: a path segment (the last literal one before a parameter or at the end) -> resource type
COLLECTIONS = {
    "serviceAccounts": "SERVICE_ACCOUNT", "keys": "KEY", "apikey": "KEY", "roles": "ROLE",
    "roleDefinitions": "ROLE", "policies": "POLICY", "rules": "RULE", "members": "MEMBER",
    "permissions": "MEMBER", "events": "AUDIT", "audit": "AUDIT", "vaults": "VAULT",
    "vault-templates": "VAULT_TEMPLATE", "workspaces": "WORKSPACE", "users": "USER",
    "sts": "TOKEN", "oauth": "TOKEN",
}
#: last literal segments that name the action rather than a collection
ACTION_SEGMENTS = {"assign": "ASSIGN", "unassign": "UNASSIGN", "rotate": "ROTATE"}
#: id fields of a write's answer -> the type of the object they name ("ID": the route's type)
ANSWER_IDS = {"clientID": "SERVICE_ACCOUNT", "keyID": "KEY", "apiKeyID": "KEY"}
ORDERS = ("ASCENDING", "DESCENDING")
MAX_LIMIT = 1000


def audit_time() -> str:
    """The spec's timestamp shape: ``2023-06-27 14:01:14.264739714`` (UTC; sorts as text)."""
    t = now()
    return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond:06d}000"


def api_name(operation: str) -> str:
    """``ServiceAccountService_CreateServiceAccount`` -> ``/v1.ServiceAccountService/Create...``
    (the gRPC method name the spec's example shows)."""
    service, _, method = operation.partition("_")
    return f"/v1.{service}/{method}" if method else operation


def _literals(template: str) -> list[str]:
    return [s for s in template.strip("/").split("/")[1:] if not s.startswith("{")]


def action_type(method: str, template: str) -> str:
    literals = _literals(template)
    if literals and literals[-1] in ACTION_SEGMENTS:
        return ACTION_SEGMENTS[literals[-1]]
    if method == "POST":
        return "CREATE"
    if method == "GET":
        return "READ" if template.rstrip("/").endswith("}") else "LIST"
    return {"DELETE": "DELETE", "PATCH": "UPDATE", "PUT": "UPDATE"}.get(method, "NONE")


def resource_type(template: str) -> str:
    for segment in reversed(_literals(template)):
        if segment in COLLECTIONS:
            return COLLECTIONS[segment]
    return "NONE_API"


def _path_ids(template: str, params: dict[str, str], query: Any) -> list[str]:
    """Each path parameter typed by the collection segment before it."""
    out: list[str] = []
    collection = "NONE_API"
    for segment in template.strip("/").split("/"):
        match = re.fullmatch(r"\{([^}]+)\}", segment)
        if match is None:
            collection = COLLECTIONS.get(segment, collection)
            continue
        value = params.get(match.group(1).replace(".", "_"))
        if not value:
            continue
        kind = collection
        if kind == "MEMBER":  # /v1/members/{member.ID}: the member's own type
            kind = str(query.get("member.type") or "SERVICE_ACCOUNT")
        out.append(f"{kind}/{value}")
    return out


def _body_ids(body: dict[str, Any], kind: str) -> list[str]:
    """Ids a write names in its body: the role/policy it acts on, members, roles."""
    out = []
    if isinstance(body.get("ID"), str) and body["ID"]:
        out.append(f"{kind}/{body['ID']}")
    for member in body.get("members") or []:
        if isinstance(member, dict) and isinstance(member.get("ID"), str):
            out.append(f"{member.get('type') or 'SERVICE_ACCOUNT'}/{member['ID']}")
    for role_id in body.get("roleIDs") or []:
        if isinstance(role_id, str):
            out.append(f"ROLE/{role_id}")
    return out


def _answer_ids(answer: dict[str, Any], kind: str) -> list[str]:
    out = [f"{typ}/{answer[k]}" for k, typ in ANSWER_IDS.items()
           if isinstance(answer.get(k), str) and answer[k]]
    if isinstance(answer.get("ID"), str) and answer["ID"]:
        out.append(f"{kind}/{answer['ID']}")
    return out


def context_id(context: Any) -> str:
    """A token's ``ctx`` as ``bearerTokenContextID``: a string as is, an object as JSON."""
    if context is None:
        return ""
    if isinstance(context, str):
        return context
    return json.dumps(context, sort_keys=True, separators=(",", ":"))


@dataclass
class Served:
    """One authenticated management request, as the app saw it."""

    method: str
    template: str
    operation: str
    path: str
    params: dict[str, str]
    query: Any
    body: dict[str, Any] | None
    answer: dict[str, Any] | None
    code: int
    message: str
    request_id: str
    actor: str
    auth_mode: str
    jwt_id: str
    context: Any
    ip: str
    origin: str
    vault_id: str = ""


class AuditLog:
    """Writes and reads the account's audit events (``store`` table ``audit_events``)."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.account_id = state.account_id

    def event(self, s: Served) -> tuple[dict[str, Any], list[str]]:
        """The ``v1AuditResponseEvent`` of a served request, and its resource ids."""
        kind = resource_type(s.template)
        ids = [f"ACCOUNT/{self.account_id}"] + _path_ids(s.template, s.params, s.query)
        if s.vault_id:
            ids.append(f"VAULT/{s.vault_id}")
        if s.body:
            ids += _body_ids(s.body, kind)
        if s.answer and 200 <= s.code < 300 and s.method != "GET":
            ids += _answer_ids(s.answer, kind)
        ids = list(dict.fromkeys(ids))
        at = audit_time()
        event = {
            "context": {
                "changeID": str(uuid.uuid4()), "requestID": s.request_id,
                "traceID": str(uuid.uuid4()), "sessionID": "", "actor": s.actor,
                "actorType": "SERVICE_ACCOUNT", "accessType": "API", "ipAddress": s.ip,
                "origin": s.origin, "authMode": s.auth_mode, "jwtID": s.jwt_id,
                "bearerTokenContextID": context_id(s.context),
            },
            "request": {
                "apiName": api_name(s.operation), "workspaceID": "", "vaultID": s.vault_id,
                "tags": [], "timestamp": at, "actionType": action_type(s.method, s.template),
                "resourceType": kind, "httpInfo": {"URI": s.path, "method": s.method},
            },
            "response": {"code": s.code, "message": s.message, "timestamp": audit_time()},
            "parentAccountID": "",
            "accountID": self.account_id,
            "resourceIDs": ids,
        }
        return event, ids

    def record(self, s: Served) -> None:
        event, ids = self.event(s)
        with self.state.store.write() as tx:
            tx.audit_add(event, ids)

    def query(self, args: Any) -> dict[str, Any]:
        """``GET /v1/audit/events``: the filters of the spec the emulator keeps, as exact
        matches (``resourceIDs`` any of a comma list), ``limit``/``offset`` or ``afterOps``."""
        account = args.get("filterOps.accountID")
        if not account:
            raise bad_request("filterOps.accountID: required")
        if account != self.account_id:
            raise bad_request("filterOps.accountID: does not match X-Skyflow-Account-ID")
        order = args.get("sortOps.orderBy") or "ASCENDING"
        if order not in ORDERS:
            raise bad_request(f"sortOps.orderBy: must be one of {', '.join(ORDERS)}")
        try:
            limit = int(args.get("limit") or "25") or 25
            offset = int(args.get("offset") or "0")
            code = args.get("filterOps.responseCode")
            code_value = int(code) if code not in (None, "") else None
        except ValueError:
            raise bad_request("limit, offset and filterOps.responseCode must be integers") \
                from None
        if limit < 0 or offset < 0:
            raise bad_request("offset and limit must not be negative")
        after = args.get("afterOps.changeID") or None
        if after and (offset or args.get("sortOps.sortBy") or args.get("sortOps.orderBy")):
            raise bad_request("afterOps cannot be used with sortOps or offset")
        resource_ids = [r.strip() for r in (args.get("filterOps.resourceIDs") or "").split(",")
                        if r.strip()]
        with self.state.store.read() as tx:
            events = tx.audit_find(
                account_id=self.account_id, columns={c: args.get(p) or None
                                                     for p, c in FILTER_COLUMNS.items()},
                code=code_value, resource_ids=resource_ids or None,
                start=args.get("filterOps.startTime") or None,
                end=args.get("filterOps.endTime") or None, after=after,
                descending=order == "DESCENDING", limit=min(limit, MAX_LIMIT), offset=offset)
        events = [e for e in events if _matches_rest(e, args)]
        out: dict[str, Any] = {"event": events}
        if events:
            last = events[-1]
            out["nextOps"] = {"changeID": last["context"]["changeID"],
                              "timestamp": last["request"]["timestamp"]}
        return out


#: query parameter -> indexed column of ``audit_events``
FILTER_COLUMNS = {
    "filterOps.context.bearerTokenContextID": "ctx", "filterOps.context.actor": "actor",
    "filterOps.context.jwtID": "jwt_id", "filterOps.httpMethod": "method",
    "filterOps.httpURI": "uri", "filterOps.actionType": "action",
    "filterOps.resourceType": "resource_type", "filterOps.apiName": "api_name",
    "filterOps.context.requestID": "request_id", "filterOps.context.changeID": "change_id",
}
#: the remaining context filters (exact match on the event; enums' defaults mean "any")
CONTEXT_FILTERS = {
    "filterOps.context.authMode": ("authMode", "AUTH_NONE"),
    "filterOps.context.actorType": ("actorType", "NONE"),
    "filterOps.context.accessType": ("accessType", "ACCESS_NONE"),
    "filterOps.context.ipAddress": ("ipAddress", ""),
    "filterOps.context.origin": ("origin", ""),
}


def _matches_rest(event: dict[str, Any], args: Any) -> bool:
    for param, (key, any_value) in CONTEXT_FILTERS.items():
        wanted = args.get(param)
        if wanted and wanted != any_value and event["context"].get(key) != wanted:
            return False
    wanted = args.get("filterOps.vaultID")
    return not wanted or event["request"].get("vaultID") == wanted
