"""Running the vending app on waitress, a production WSGI server, with a clean shutdown.

Why waitress: pure Python, no C build, a thread pool in front of the app, bounded request
sizes, no debugger or reloader (werkzeug's dev server is neither hardened nor meant for
production). Shutdown on SIGTERM/SIGINT: stop accepting, let requests in flight finish
(up to ``drain_seconds``), then close every connection.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

WsgiApp = Callable[..., Iterable[bytes]]

DEFAULT_THREADS = 8
MAX_HEADER_BYTES = 32 * 1024  # a session JWT fits easily; a header flood does not
MAX_BODY_BYTES = 64 * 1024  # waitress's own cap; the app refuses more than 4 KiB anyway


def url_for(host: str, port: int) -> str:
    """``http://HOST:PORT`` with IPv6 hosts in brackets."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


class VendingServer:
    """A bound waitress server; ``port=0`` picks a free port (see ``port`` / ``url``)."""

    def __init__(self, app: WsgiApp, host: str = "127.0.0.1", port: int = 0, *,
                 threads: int = DEFAULT_THREADS, trusted_proxy: str | None = None,
                 connection_limit: int = 1000, channel_timeout: int = 30,
                 drain_seconds: float = 5.0) -> None:
        kwargs: dict[str, Any] = {
            "host": host, "port": port, "threads": threads, "ident": "skyflow-token",
            "max_request_header_size": MAX_HEADER_BYTES,
            "max_request_body_size": MAX_BODY_BYTES,
            "connection_limit": connection_limit, "channel_timeout": channel_timeout,
            "expose_tracebacks": False, "asyncore_use_poll": True,
            "clear_untrusted_proxy_headers": True,
        }
        if trusted_proxy:
            # The address in X-Forwarded-For becomes REMOTE_ADDR (per-address limits, logs),
            # but only for connections from that proxy.
            kwargs.update(trusted_proxy=trusted_proxy, trusted_proxy_count=1,
                          trusted_proxy_headers={"x-forwarded-for"})
        self._server: Any = create_server(app, **kwargs)
        self.host = host
        self.port = int(self._server.effective_port)
        self.drain_seconds = drain_seconds
        self._stop = threading.Event()
        self._stopped = threading.Event()

    @property
    def url(self) -> str:
        return url_for(self.host, self.port)

    def serve_forever(self, poll_seconds: float = 0.5) -> None:
        """Serve until ``stop()``; then drain and close. Runs in the calling thread."""
        srv = self._server
        try:
            while not self._stop.is_set():
                wasyncore.loop(timeout=poll_seconds, map=srv._map, use_poll=True, count=1)
            self._drain()
        finally:
            srv.task_dispatcher.shutdown(cancel_pending=True, timeout=self.drain_seconds)
            wasyncore.close_all(srv._map)
            self._stopped.set()

    def _drain(self) -> None:
        """Stop accepting; keep the loop turning until in-flight responses are sent."""
        srv = self._server
        wasyncore.dispatcher.close(srv)  # the listening socket only; the trigger stays
        dispatcher = srv.task_dispatcher
        deadline = time.monotonic() + self.drain_seconds
        while time.monotonic() < deadline:
            busy = dispatcher.active_count > 0 or len(dispatcher.queue) > 0 or any(
                getattr(ch, "requests", None) or getattr(ch, "total_outbufs_len", 0)
                for ch in list(srv._map.values()))
            if not busy:
                return
            wasyncore.loop(timeout=0.05, map=srv._map, use_poll=True, count=1)

    def stop(self) -> None:
        """Ask the serving loop to finish (thread- and signal-safe)."""
        self._stop.set()
        try:
            self._server.pull_trigger()
        except Exception:  # noqa: S110 - already closed: the loop is ending anyway
            pass

    def wait_stopped(self, timeout: float | None = None) -> bool:
        return self._stopped.wait(timeout)

    def start_in_thread(self) -> threading.Thread:
        """Serve from a daemon thread (tests, benchmarks, embedding); ``stop()`` to end."""
        t = threading.Thread(target=self.serve_forever, name="skyflow-token-serve", daemon=True)
        t.start()
        return t

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT end ``serve_forever`` cleanly (main thread only)."""

        def handler(signum: int, frame: FrameType | None) -> None:
            self.stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
