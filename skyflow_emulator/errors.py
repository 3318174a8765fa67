"""Skyflow's error envelope, so every failure looks like the real service's."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

# HTTP status -> (gRPC code, reason phrase). gRPC codes follow the standard gateway mapping.
_STATUS: dict[int, tuple[int, str]] = {
    400: (3, "Bad Request"),
    401: (16, "Unauthorized"),
    403: (7, "Forbidden"),
    404: (5, "Not Found"),
    405: (12, "Method Not Allowed"),
    409: (10, "Conflict"),
    413: (8, "Request Entity Too Large"),
    429: (8, "Too Many Requests"),
    500: (13, "Internal Server Error"),
    503: (14, "Service Unavailable"),
}


class ApiError(Exception):
    """An error answered with Skyflow's ``{"error": {...}}`` envelope."""

    def __init__(self, status: int, message: str, grpc_code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.grpc_code = grpc_code if grpc_code is not None else _STATUS.get(status, (2, ""))[0]


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def failed_precondition(message: str) -> ApiError:
    """gRPC FAILED_PRECONDITION (9) carried on HTTP 400, as grpc-gateway maps it."""
    return ApiError(400, message, grpc_code=9)


def unauthenticated(message: str) -> ApiError:
    return ApiError(401, message)


def forbidden(message: str) -> ApiError:
    return ApiError(403, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def conflict(message: str) -> ApiError:
    return ApiError(409, message)


def envelope(status: int, message: str, grpc_code: int | None = None) -> dict[str, Any]:
    code, phrase = _STATUS.get(status, (2, "Error"))
    return {
        "error": {
            "grpc_code": grpc_code if grpc_code is not None else code,
            "http_code": status,
            "http_status": phrase,
            "message": message,
            "details": [],
        }
    }


def error_response(err: ApiError, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(envelope(err.status, err.message, err.grpc_code))
    resp = Response(body, status=err.status, mimetype="application/json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp
