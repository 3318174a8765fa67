"""HTTP/1.1 keep-alive for werkzeug's threaded server, which closes every connection.

Why: Skyflow keeps connections open, and clients pool them (one per thread). Closing after every
response made each API call pay a new TCP connection, a TLS handshake on both sides and a new
server thread: at N=1000 that was a large part of every refresh and destroy. werkzeug closes
because ``http.server`` cannot tell where an unread request body ends; here the body is read in
full (by its Content-Length) before the application runs, so the next request starts clean.
Requests this cannot frame that way (chunked bodies, ``Expect: 100-continue``, no or bad
Content-Length on a body) keep werkzeug's behaviour: the connection closes after the response.
"""

from __future__ import annotations

import io
import logging
import socket

from werkzeug.serving import WSGIRequestHandler

MAX_BUFFERED_BODY = 16 * 1024 * 1024
IDLE_TIMEOUT_S = 120  # an idle kept-alive connection (and its thread) ends after this


class KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's handler, minus ``Connection: close`` for requests whose body is framed."""

    timeout = IDLE_TIMEOUT_S
    _keep = False

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm
        # holds the body until the client's delayed ACK (~40 ms per response once the
        # connection is reused; a closing connection flushed it before).
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def _body_length(self) -> int | None:
        """Bytes of body to read before the app runs; None when keep-alive is not safe."""
        if self.request_version != "HTTP/1.1" or self.close_connection:
            return None
        if self.headers.get("Transfer-Encoding") or self.headers.get("Expect"):
            return None
        raw = self.headers.get("Content-Length")
        if raw is None:
            return 0
        try:
            length = int(raw)
        except ValueError:
            return None
        return length if 0 <= length <= MAX_BUFFERED_BODY else None

    def run_wsgi(self) -> None:
        length = self._body_length()
        self._keep = length is not None
        if length is None:
            super().run_wsgi()
            return
        real = self.rfile
        body = real.read(length) if length else b""
        if len(body) != length:  # the client went away mid-body
            self.close_connection = True
            return
        # werkzeug drains "leftover" input after each response; with the body already read
        # it must find nothing, or it would swallow the next request on this connection.
        self.rfile = io.BytesIO(body)
        try:
            super().run_wsgi()
        finally:
            self.rfile = real

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # werkzeug formats an access-log line per request even when its logger drops it (the
        # emulator sets it to ERROR and keeps its own request log): skip the work then.
        if logging.getLogger("werkzeug").isEnabledFor(logging.INFO):
            super().log_request(code, size)

    def send_header(self, keyword: str, value: str) -> None:
        if self._keep and keyword.lower() == "connection" and value.lower() == "close":
            return
        super().send_header(keyword, value)
