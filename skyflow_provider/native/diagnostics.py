"""Warnings and notes of the provider classes, shown by the CLI on the resource they concern.

Why: the provider classes print their warnings (a key about to expire, keys the stack does not
manage) and their notes (why an update is planned) to stderr, which the CLI shows for the dynamic
provider. A plugin's stderr only reaches the engine's log file, so here every line a worker thread
writes to stderr while it serves a request is sent to the engine's ``Log`` RPC with that
request's URN instead ("warning: ..." lines as warnings, the rest as info). Nothing in the
resource modules changes; lines written outside a request still go to the real stderr.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

import grpc

from .proto import module

_local = threading.local()


class EngineLog:
    """Sends lines to the engine (``Log``) for the URN bound to the current thread."""

    def __init__(self, address: str) -> None:
        self._pb = module("engine_pb2")
        self._channel = grpc.insecure_channel(address)
        self._stub = module("engine_pb2_grpc").EngineStub(self._channel)

    def send(self, line: str, urn: str) -> None:
        severity = self._pb.INFO
        if line.startswith("warning: "):
            severity, line = self._pb.WARNING, line[len("warning: "):]
        try:
            self._stub.Log(self._pb.LogRequest(severity=severity, message=line, urn=urn))
        except grpc.RpcError:
            sys.__stderr__.write(line + "\n") if sys.__stderr__ else None


class StderrRouter:
    """A ``sys.stderr`` that routes the lines of request threads to :class:`EngineLog`."""

    def __init__(self, real: TextIO, engine: EngineLog) -> None:
        self._real = real
        self._engine = engine

    def write(self, text: str) -> int:
        urn = getattr(_local, "urn", None)
        if not urn:
            return self._real.write(text)
        buf = getattr(_local, "buf", "") + text
        *lines, rest = buf.split("\n")
        _local.buf = rest
        for line in lines:
            if line.strip():
                self._engine.send(line, urn)
        return len(text)

    def flush(self) -> None:
        self._real.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def install(engine_address: str) -> None:
    """Route request threads' stderr lines to the engine at ``engine_address``."""
    if engine_address and not isinstance(sys.stderr, StderrRouter):
        sys.stderr = StderrRouter(sys.stderr, EngineLog(engine_address))


def bind(urn: str | None) -> None:
    """Bind (or, with None, unbind) the current thread to a request's URN; a partial line left
    by the previous request is flushed first."""
    rest = getattr(_local, "buf", "")
    old = getattr(_local, "urn", None)
    if rest.strip() and old and isinstance(sys.stderr, StderrRouter):
        sys.stderr._engine.send(rest, old)  # noqa: SLF001
    _local.buf = ""
    _local.urn = urn
