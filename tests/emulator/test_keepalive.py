"""HTTP/1.1 keep-alive (``keepalive.py``): one connection serves many requests, a body the
application never reads does not leak into the next request, unframed bodies still close."""

from __future__ import annotations

import socket
import ssl
from typing import Any

from tests.helpers.emulator_proc import EmulatorProcess


def _raw(emu: EmulatorProcess) -> socket.socket:
    host, port = emu.url.split("//", 1)[1].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    if emu.url.startswith("https"):
        ctx = ssl.create_default_context(cafile=emu.ca_bundle)
        return ctx.wrap_socket(sock, server_hostname=host)
    return sock


def _request(f: Any, sock: socket.socket, method: str, path: str, headers: dict[str, str],
             body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode() + body)
    status = int(f.readline().split()[1])
    hdrs: dict[str, str] = {}
    while (line := f.readline().decode().strip()):
        k, v = line.split(":", 1)
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, f.read(int(hdrs.get("content-length", "0")))


def test_one_connection_serves_many_requests(emu: EmulatorProcess) -> None:
    admin = {"Authorization": f"Bearer {emu.admin_token}"}
    with _raw(emu) as sock, sock.makefile("rb") as f:
        for _ in range(3):
            status, hdrs, body = _request(f, sock, "GET", "/_emulator/health", admin)
            assert status == 200 and hdrs.get("connection") != "close"
            assert b'"status": "ok"' in body
        # a body the app refuses before reading it (no token: 401) is consumed all the same
        payload = b'{"serviceAccount": {"name": "' + b"x" * 5000 + b'"}}'
        status, _, _ = _request(f, sock, "POST", "/v1/serviceAccounts",
                                {"Content-Type": "application/json",
                                 "Content-Length": str(len(payload))}, payload)
        assert status == 401
        status, _, _ = _request(f, sock, "GET", "/_emulator/health", admin)
        assert status == 200
        # the client may still ask to close
        status, hdrs, _ = _request(f, sock, "GET", "/_emulator/health",
                                   {**admin, "Connection": "close"})
        assert status == 200 and hdrs.get("connection") == "close"
        assert f.read() == b""


def test_a_chunked_body_closes_the_connection(emu: EmulatorProcess) -> None:
    chunked = b"2\r\n{}\r\n0\r\n\r\n"
    with _raw(emu) as sock, sock.makefile("rb") as f:
        status, hdrs, _ = _request(f, sock, "POST", "/v1/serviceAccounts",
                                   {"Transfer-Encoding": "chunked",
                                    "Content-Type": "application/json"}, chunked)
        assert status == 401 and hdrs.get("connection") == "close"
        assert f.read() == b""

