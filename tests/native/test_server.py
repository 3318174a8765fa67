"""``pulumi-resource-skyflow`` over gRPC, against the real emulator, without an engine: what the
engine relies on (docs/native-provider.md) stays true on the synchronous server.

The end-to-end tests (tests/e2e/test_native_*.py) run the same plugin under the real CLI; these
pin the server's own behaviour: "not found", one-line errors, secrets, requests served side by
side, the schema served without importing the Pulumi SDK, and the exits (SIGTERM, engine gone).
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest

from skyflow_provider.native import wire
from skyflow_provider.resources.schema import package_schema
from tests.e2e.conftest import provider_env
from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.plugin_proc import PluginProcess, struct

SA = "urn:pulumi:dev::p::skyflow:index:ServiceAccount::{}"
RA = "urn:pulumi:dev::p::skyflow:index:RoleAssignment::{}"


@pytest.fixture
def plugin(emu: EmulatorProcess) -> Iterator[PluginProcess]:
    with PluginProcess(env={**provider_env(emu), "SKYFLOW_KEY_DRIFT_REPORT": "false"}) as p:
        p.stub.Configure(p.pb.ConfigureRequest(args=struct({}), acceptSecrets=True))
        yield p


def _create(p: PluginProcess, urn: str, news: dict[str, Any]) -> tuple[str, Any, Any]:
    checked = p.stub.Check(p.pb.CheckRequest(urn=urn, olds=struct({}), news=struct(news)))
    assert list(checked.failures) == []
    made = p.stub.Create(p.pb.CreateRequest(urn=urn, properties=checked.inputs))
    return made.id, made.properties, checked.inputs


def test_create_read_diff_delete_and_not_found(plugin: PluginProcess, emu: EmulatorProcess
                                               ) -> None:
    p, urn = plugin, SA.format("payments")
    sa_id, outs, ins = _create(p, urn, {"name": "srv-payments", "displayName": "Payments"})
    assert outs["clientId"] == sa_id
    # generated credentials leave marked secret, so the engine encrypts them in state
    assert outs["privateKey"][wire.SIG] == wire.SECRET
    assert outs["credentials"][wire.SIG] == wire.SECRET
    assert json.loads(outs["credentials"]["value"])["clientID"] == sa_id

    read = p.stub.Read(p.pb.ReadRequest(urn=urn, id=sa_id, properties=outs, inputs=ins))
    assert read.id == sa_id and read.properties["displayName"] == "Payments"
    assert read.properties["privateKey"][wire.SIG] == wire.SECRET  # still secret after a read

    same = p.stub.Diff(p.pb.DiffRequest(urn=urn, id=sa_id, olds=outs, news=ins))
    assert same.changes == p.pb.DiffResponse.DIFF_NONE
    renamed = struct({**dict(ins.items()), "displayName": "Payments API"})
    changed = p.stub.Diff(p.pb.DiffRequest(urn=urn, id=sa_id, olds=outs, news=renamed))
    assert changed.changes == p.pb.DiffResponse.DIFF_SOME
    assert list(changed.replaces) == [] and list(changed.diffs) == ["displayName"]
    assert changed.detailedDiff["displayName"].kind == p.pb.PropertyDiff.UPDATE

    ra = RA.format("payments-viewer")
    ra_id, ra_outs, _ = _create(p, ra, {"serviceAccountId": sa_id, "vaultId": emu.vault_id,
                                        "roleName": "VAULT_VIEWER"})
    p.stub.Delete(p.pb.DeleteRequest(urn=ra, id=ra_id, properties=ra_outs))
    p.stub.Delete(p.pb.DeleteRequest(urn=urn, id=sa_id, properties=outs))
    # nil properties: the engine's "not found" (refresh drops it, import of a wrong id fails)
    gone = p.stub.Read(p.pb.ReadRequest(urn=urn, id=sa_id, properties=outs, inputs=ins))
    assert gone.id == "" and not gone.HasField("properties")


def test_bad_input_is_a_check_failure_naming_the_field_in_camel_case(plugin: PluginProcess
                                                                     ) -> None:
    p = plugin
    checked = p.stub.Check(p.pb.CheckRequest(urn=SA.format("x"), olds=struct({}), news=struct(
        {"name": "srv-x", "authType": "password"})))
    assert [f.property for f in checked.failures] == ["authType"]
    assert "auth_type" not in checked.failures[0].reason


def test_errors_reach_the_engine_as_one_line(emu: EmulatorProcess) -> None:
    env = {**provider_env(emu), "SKYFLOW_ACCOUNT_ID": "no-such-account"}
    with PluginProcess(env=env) as p:
        p.stub.Configure(p.pb.ConfigureRequest(args=struct({}), acceptSecrets=True))
        messages = []
        for call in (
            lambda: p.stub.Check(p.pb.CheckRequest(urn="urn:pulumi:d::p::skyflow:index:Nope::x",
                                                   olds=struct({}), news=struct({}))),
            lambda: _create(p, SA.format("x"), {"name": "srv-x"}),  # the API refuses it
        ):
            with pytest.raises(grpc.RpcError) as err:
                call()
            assert err.value.code() == grpc.StatusCode.UNKNOWN
            messages.append(str(err.value.details()))
        assert all(m and "\n" not in m and "Traceback" not in m for m in messages), messages
        assert messages[0] == "skyflow: unknown resource type skyflow:index:Nope"


def test_requests_are_served_side_by_side(emu: EmulatorProcess,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight Reads held up by the emulator are all inside the HTTP client at once: no request
    waits for another (the old grpc.aio loop handed them to a pool; this server runs each on the
    thread that received it). In-process, so the threads can be looked at."""
    from skyflow_provider.api.base import ClientBase
    from skyflow_provider.native import server
    from skyflow_provider.native.proto import module

    for key, value in provider_env(emu).items():
        monkeypatch.setenv(key, value)
    pb, grpc_pb = module("provider_pb2"), module("provider_pb2_grpc")
    srv, port = server.serve(workers=16)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        stub = grpc_pb.ResourceProviderStub(channel)
        stub.Configure(pb.ConfigureRequest(args=struct({}), acceptSecrets=True))
        sa = emu.admin_credentials["clientID"]
        emu.set_faults(latency_ms=1500)
        in_flight: list[int] = []
        code = ClientBase.request.__code__

        def watch(stop: threading.Event) -> None:
            while not stop.is_set():
                frames = sys._current_frames().values()
                in_flight.append(sum(1 for f in frames if _inside(f, code)))
                time.sleep(0.01)

        stop = threading.Event()
        watcher = threading.Thread(target=watch, args=(stop,))
        watcher.start()
        try:
            with ThreadPoolExecutor(8) as pool:
                reads = [pool.submit(stub.Read, pb.ReadRequest(
                    urn=SA.format(f"r{i}"), id=sa, properties=struct({"name": "admin"})))
                    for i in range(8)]
                assert all(r.result(timeout=120).id == sa for r in reads)
        finally:
            stop.set()
            watcher.join()
        assert max(in_flight) == 8
    finally:
        emu.clear_faults()
        channel.close()
        srv.stop(None)


def _inside(frame: Any, code: Any) -> bool:
    while frame is not None:
        if frame.f_code is code:
            return True
        frame = frame.f_back
    return False


def test_the_schema_is_served_without_importing_the_pulumi_sdk() -> None:
    """pulumi-language-yaml starts a plugin only to read the schema: that process never pays for
    the SDK, the provider classes or the HTTP client."""
    code = (
        "import json, sys\n"
        "from skyflow_provider.native import server\n"
        "s = server.Servicer()\n"
        "info = s.GetPluginInfo(None, None)\n"
        "schema = s.GetSchema(server.pb.GetSchemaRequest(version=0), None).schema\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'urllib3', "
        "'requests', 'cryptography') or m.startswith('skyflow_provider.api'))\n"
        "print(json.dumps({'version': info.version, 'schema': json.loads(schema), "
        "'heavy': heavy}))\n")
    out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                    text=True, check=True, timeout=120).stdout)
    assert out["heavy"] == []
    assert out["schema"] == json.loads(json.dumps(package_schema()))
    assert out["version"] == package_schema()["version"]


def test_sigterm_stops_the_plugin_quietly(emu: EmulatorProcess) -> None:
    with PluginProcess(env=provider_env(emu)) as p:
        p.stub.Configure(p.pb.ConfigureRequest(args=struct({}), acceptSecrets=True))
        p.proc.send_signal(signal.SIGTERM)
        assert p.proc.wait(60) == 0
        assert "Traceback" not in p.stderr()


def test_a_plugin_exits_once_its_engine_is_gone(emu: EmulatorProcess) -> None:
    """Also a process that only served the schema (the provider classes, which used to start the
    watchdog, are never imported there)."""
    engine = socket.socket()
    engine.bind(("127.0.0.1", 0))
    engine.listen(16)
    address = f"127.0.0.1:{engine.getsockname()[1]}"
    with PluginProcess(env=provider_env(emu), args=[address]) as p:
        assert json.loads(p.stub.GetSchema(p.pb.GetSchemaRequest()).schema)["name"] == "skyflow"
        assert p.proc.poll() is None
        engine.close()  # nobody listens there any more
        assert p.proc.wait(60) == 0
        assert "engine that started this provider is gone" in p.stderr()
