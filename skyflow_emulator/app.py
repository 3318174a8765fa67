"""The WSGI application: routing, faults, authentication, authorization, request log."""

from __future__ import annotations

import hmac
import json
import re
import socket
import sys
import time
import traceback
import uuid
from dataclasses import asdict
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.wrappers import Request, Response

from .access import authenticate, authorize
from .context import Ctx, State
from .errors import ApiError, error_response, unauthenticated
from .faults import FaultConfig
from .routes import ROUTES, Route
from .util import ID_RE

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class IdConverter(BaseConverter):
    """Path IDs: letters, digits, ``_`` and ``-`` only, so nothing odd reaches storage."""

    regex = ID_RE.pattern.strip("^$")


def _rule_path(template: str) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: f"<eid:{m.group(1).replace('.', '_')}>", template)


def build_map() -> tuple[Map, dict[str, Route]]:
    by_endpoint: dict[str, Route] = {}
    rules = []
    for route in ROUTES:
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

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        started = time.monotonic()
        request = Request(environ)
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "method": request.method, "path": request.path, "template": None,
            "operation": None, "status": 0, "duration_ms": 0.0, "subject": None,
        }
        drop = False
        try:
            if request.path.startswith("/_emulator/"):
                response = self._admin(request, entry)
            else:
                response, drop = self._api(request, environ, entry)
        except Exception:  # noqa: BLE001 - the envelope must always come back
            traceback.print_exc(file=sys.stderr)
            response = error_response(ApiError(500, "Internal error"))
        response.headers["X-Request-ID"] = str(uuid.uuid4())
        entry["status"] = response.status_code
        entry["duration_ms"] = round((time.monotonic() - started) * 1000, 3)
        if drop:
            entry["fault"] = "drop"
        self.state.log.write(entry)
        if drop:
            _drop_connection(environ)
        return response(environ, start_response)

    def _api(self, request: Request, environ: dict[str, Any],
             entry: dict[str, Any]) -> tuple[Response, bool]:
        adapter = self.url_map.bind_to_environ(environ)
        try:
            endpoint, args = adapter.match()
        except MethodNotAllowed:
            return error_response(ApiError(405, "Method not allowed")), False
        except NotFound:
            return error_response(ApiError(404, f"No such path: {request.path}")), False
        route = self.routes[str(endpoint)]
        entry["template"], entry["operation"] = route.template, route.operation
        # Only management writes lose their response: the token exchange commits nothing.
        is_write = request.method in WRITE_METHODS and route.permission is not None
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
        ctx = Ctx(self.state, request, {k: str(v) for k, v in args.items()})
        try:
            if route.permission is not None:
                ctx.principal = authenticate(ctx)
                entry["subject"] = ctx.principal.subject
                assert route.target is not None
                authorize(ctx, route.permission, route.target(ctx))
            result = route.handler(ctx)
        except ApiError as err:
            if ctx.log_subject:
                entry["subject"] = ctx.log_subject
            return error_response(err), False
        if ctx.log_subject:
            entry["subject"] = ctx.log_subject
        return _json(result), decision.drop

    def _admin(self, request: Request, entry: dict[str, Any]) -> Response:
        """/_emulator/*: health and faults, only with DIR/admin-token."""
        entry["template"] = request.path
        header = request.headers.get("Authorization", "")
        given = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if not given or not hmac.compare_digest(given.encode(), self.state.admin_token.encode()):
            return error_response(unauthenticated("Admin token required (DIR/admin-token)"))
        entry["subject"] = "emulator-admin"
        if request.path == "/_emulator/health" and request.method == "GET":
            entry["operation"] = "Emulator_Health"
            return _json({"status": "ok", "accountID": self.state.account_id})
        if request.path == "/_emulator/faults":
            if request.method == "GET":
                entry["operation"] = "Emulator_GetFaults"
                return _json(asdict(self.state.faults.config))
            if request.method == "PUT":
                entry["operation"] = "Emulator_SetFaults"
                try:
                    data = json.loads(request.get_data() or b"{}")
                    if not isinstance(data, dict):
                        raise ApiError(400, "body must be a JSON object")
                    config = FaultConfig.from_dict(data, self.state.faults.config)
                except ValueError:
                    return error_response(ApiError(400, "body is not valid JSON"))
                except ApiError as err:
                    return error_response(err)
                self.state.faults.update(config)
                return _json(asdict(config))
            return error_response(ApiError(405, "Method not allowed"))
        return error_response(ApiError(404, f"No such path: {request.path}"))


def _drop_connection(environ: dict[str, Any]) -> None:
    """Lose the response: the write is committed, the client sees the connection close."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
