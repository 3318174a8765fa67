"""Calling a WSGI app from inside another framework's view (Django has no WSGI mounting).

Why: Flask can mount the vending app with werkzeug's ``DispatcherMiddleware``; Django's URL
router can only call views. ``call_wsgi`` runs the app on a copy of the request's environ and
hands back status, headers and body for the framework's own response object.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def call_wsgi(app: WsgiApp, environ: Mapping[str, Any], *, path: str | None = None,
              body: bytes | None = None) -> tuple[int, list[tuple[str, str]], bytes]:
    """Run ``app`` for ``environ``; ``path`` overrides PATH_INFO, ``body`` replaces the input
    stream (a framework that already read the body passes it here).
    """
    env = dict(environ)
    if path is not None:
        env["PATH_INFO"] = path
    if body is not None:
        env["wsgi.input"] = io.BytesIO(body)
        env["CONTENT_LENGTH"] = str(len(body))
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        captured["status"] = int(status.split(" ", 1)[0])
        captured["headers"] = list(headers)
        return lambda _data: None

    result = app(env, start_response)
    try:
        data = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return captured["status"], captured["headers"], data
