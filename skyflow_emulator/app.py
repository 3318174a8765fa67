"""The WSGI application: route matching, faults, authentication, authorization, CORS, log,
audit log.

Every path goes through the route table (``routes.ALL_ROUTES``); what happens before the
handler depends on the route's ``auth`` kind. Every management request whose caller was
authenticated is recorded in the audit log once it is answered (failures with their code), here
and nowhere else, so a new route is recorded without code of its own (``models/audit.py``).
"""

from __future__ import annotations

import json
import re
import socket
import sys
import time
import traceback
import uuid
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import BaseConverter, Map, MapAdapter, Rule
from werkzeug.wrappers import Request, Response

from .access import (
    authenticate,
    authenticate_admin,
    authorize,
    authorize_data,
    issued_principal,
)
from .context import Ctx
from .cors import Cors
from .errors import ApiError, error_response
from .models.audit import AuditLog, Served
from .permissions import Target
from .routes import ALL_ROUTES, Route
from .state import State
from .util import ID_RE

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class IdConverter(BaseConverter):
    """Path IDs: letters, digits, ``_`` and ``-`` only, so nothing odd reaches storage."""

    regex = ID_RE.pattern.strip("^$")


def _rule_path(template: str) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: f"<eid:{m.group(1).replace('.', '_')}>", template)


def build_map(routes: list[Route] | None = None) -> tuple[Map, dict[str, Route]]:
    by_endpoint: dict[str, Route] = {}
    rules = []
    for route in ALL_ROUTES if routes is None else routes:
        endpoint = f"{route.method} {route.template}"
        by_endpoint[endpoint] = route
        rules.append(Rule(_rule_path(route.template), methods=[route.method],
                          endpoint=endpoint))
    return Map(rules, converters={"eid": IdConverter}, strict_slashes=False,
               merge_slashes=False), by_endpoint


def _json(data: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")


class App:
    def __init__(self, state: State) -> None:
        self.state = state
        self.url_map, self.routes = build_map()
        self.cors = Cors(state.cors_origins)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        started = time.monotonic()
        request = Request(environ)
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "method": request.method, "path": request.path, "template": None,
            "operation": None, "status": 0, "duration_ms": 0.0, "subject": None,
        }
        drop = False
        request_id = str(uuid.uuid4())
        try:
            response, drop = self._dispatch(request, environ, entry, request_id)
        except Exception:  # noqa: BLE001 - the envelope must always come back
            traceback.print_exc(file=sys.stderr)
            response = error_response(ApiError(500, "Internal error"))
        response.headers["X-Request-ID"] = request_id
        entry["status"] = response.status_code
        entry["duration_ms"] = round((time.monotonic() - started) * 1000, 3)
        if drop:
            entry["fault"] = "drop"
        self.state.log.write(entry)
        if drop:
            _drop_connection(environ)
        return response(environ, start_response)

    def _dispatch(self, request: Request, environ: dict[str, Any],
                  entry: dict[str, Any], request_id: str) -> tuple[Response, bool]:
        adapter = self.url_map.bind_to_environ(environ)
        try:
            endpoint, args = adapter.match()
        except MethodNotAllowed:
            if request.method == "OPTIONS":
                return self._preflight(request, adapter, entry), False
            return error_response(ApiError(405, "Method not allowed")), False
        except NotFound:
            return error_response(ApiError(404, f"No such path: {request.path}")), False
        route = self.routes[str(endpoint)]
        entry["template"], entry["operation"] = route.template, route.operation
        ctx = Ctx(self.state, request, {k: str(v) for k, v in args.items()})
        if route.auth == "admin":
            return self._admin(route, ctx, entry), False
        response, drop = self._api(route, ctx, entry, request_id)
        if route.api == "data":
            self.cors.decorate(request, response)
        return response, drop

    def _preflight(self, request: Request, adapter: MapAdapter,
                   entry: dict[str, Any]) -> Response:
        """OPTIONS on a Data API path: CORS preflight; elsewhere 405 as before."""
        methods = sorted(adapter.allowed_methods() or [])
        routes = [self.routes[str(adapter.match(method=m)[0])] for m in methods
                  if m != "HEAD"]
        if not routes or any(r.api != "data" for r in routes):
            return error_response(ApiError(405, "Method not allowed"))
        entry["template"], entry["operation"] = routes[0].template, "Emulator_CorsPreflight"
        return self.cors.preflight(request, [r.method for r in routes])

    def _admin(self, route: Route, ctx: Ctx, entry: dict[str, Any]) -> Response:
        """/_emulator/*: only with DIR/admin-token; never faulted."""
        try:
            authenticate_admin(ctx)
            entry["subject"] = "emulator-admin"
            return _json(route.handler(ctx))
        except ApiError as err:
            return error_response(err)

    def _api(self, route: Route, ctx: Ctx, entry: dict[str, Any],
             request_id: str) -> tuple[Response, bool]:
        request = ctx.request
        # Only management writes lose their response: the token exchange commits nothing.
        is_write = request.method in WRITE_METHODS and route.auth == "bearer"
        decision = self.state.faults.decide(is_write)
        if decision.delay_s:
            time.sleep(decision.delay_s)
        if decision.status is not None:
            entry["fault"] = str(decision.status)
            headers = {}
            if decision.status == 429:
                headers["Retry-After"] = str(self.state.faults.config.retry_after)
                msg = "Too many requests (injected fault)"
            else:
                msg = "Service temporarily failing (injected fault)"
            return error_response(ApiError(decision.status, msg), headers), False
        target: Target | None = None
        try:
            if route.auth in ("bearer", "data"):
                ctx.principal = authenticate(ctx, account_header=route.auth == "bearer")
                entry["subject"] = ctx.principal.subject
                assert route.target is not None and route.permission is not None
                check = authorize if route.auth == "bearer" else authorize_data
                target = route.target(ctx)
                check(ctx, route.permission, target)
            # the request's writes and its audit event commit together or not at all: a
            # crash between the two would leave an object whose maker nobody can prove
            with self.state.store.request():
                result = route.handler(ctx)
                if route.auth == "none" and isinstance(result.get("accessToken"), str):
                    # a token exchange: audited under the identity and context it issued to
                    ctx.principal = issued_principal(ctx, result["accessToken"])
                self._audit(route, ctx, target, request_id, result, 200, "success")
        except ApiError as err:
            if ctx.log_subject:
                entry["subject"] = ctx.log_subject
            self._audit(route, ctx, target, request_id, None, err.status, err.message)
            return error_response(err), False
        if ctx.log_subject:
            entry["subject"] = ctx.log_subject
        # a dropped response was served all the same: the write is committed
        return _json(result), decision.drop

    def _audit(self, route: Route, ctx: Ctx, target: Target | None, request_id: str,
               answer: dict[str, Any] | None, code: int, message: str) -> None:
        """Record an authenticated management request (never fails the request)."""
        principal = ctx.principal
        if principal is None or route.api != "management":
            return
        try:
            request = ctx.request
            AuditLog(self.state).record(Served(
                method=request.method, template=route.template, operation=route.operation,
                path=request.path, params=ctx.params, query=request.args,
                # a token exchange's body is an assertion or a subject token: never looked at
                body=None if route.auth == "none" else ctx.parsed_body(),
                # ...and its answer a token: the id of the account it was issued to instead
                answer={"clientID": principal.subject} if route.auth == "none" else answer,
                code=code, message=message,
                request_id=request_id, actor=principal.subject,
                auth_mode="SERVICE_ACCOUNT_JWT" if principal.mode == "SERVICE_ACCOUNT_JWT"
                else "AUTH_NONE", jwt_id=str(principal.claims.get("jti") or ""),
                context=principal.context, ip=request.remote_addr or "",
                origin=request.headers.get("Origin", ""),
                vault_id=target.id if target is not None and target.type == "VAULT" else ""))
        except Exception:  # noqa: BLE001 - the answer must not depend on the audit log
            traceback.print_exc(file=sys.stderr)


def _drop_connection(environ: dict[str, Any]) -> None:
    """Lose the response: the write is committed, the client sees the connection close."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
