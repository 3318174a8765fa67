"""A provider plugin process driven over gRPC the way the engine drives it, without an engine.

    with PluginProcess(env=provider_env(emu)) as plugin:     # pulumi-resource-skyflow
        plugin.stub.Configure(plugin.pb.ConfigureRequest(args=struct({}), acceptSecrets=True))
        plugin.stub.Check(plugin.pb.CheckRequest(urn=..., olds=struct({}), news=struct({...})))

``command`` picks another provider process (``[python, "-u", "-m", "pulumi.dynamic"]`` is the
dynamic-provider host). Used by tests/native and by ``benchmarks/plugin_cpu.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import struct_pb2

PLUGIN = Path(sys.executable).with_name("pulumi-resource-skyflow")


def struct(values: dict[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(values)
    return s


def cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of ``pid`` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PluginProcess:
    """Start a provider process, read the port it prints, open a channel to it."""

    def __init__(self, command: list[str] | None = None, *, env: dict[str, str] | None = None,
                 args: list[str] | None = None) -> None:
        from pulumi.runtime import proto
        from pulumi.runtime.proto import provider_pb2_grpc

        self.pb = proto
        # a file, not a pipe: nobody reads stderr while the plugin runs, and a full pipe blocks
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([*(command or [str(PLUGIN)]), *(args or [])],
                                     stdout=subprocess.PIPE, stderr=self._stderr,
                                     env={**os.environ, **(env or {})})
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            self.proc.kill()
            raise RuntimeError(f"the plugin printed no port: {line!r}, stderr: "
                               f"{self.stderr()[-2000:]}")
        self.port = int(line)
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stderr(self) -> str:
        """What the process has written to stderr so far."""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def close(self) -> None:
        """Stop the process (SIGTERM, as the engine does); read ``stderr()`` before."""
        self.channel.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()

    def __enter__(self) -> PluginProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
