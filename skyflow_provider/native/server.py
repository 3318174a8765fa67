"""``pulumi-resource-skyflow``: serve :class:`SkyflowNativeProvider` over Pulumi's gRPC protocol.

Why our own servicer, not ``pulumi.provider.experimental.server`` (SDK 3.272):

* **CPU per request.** The SDK serves on one grpc.aio event loop and converts every property to
  a ``PropertyValue`` object each way; the blocking provider classes then need a second hand-off
  to a thread pool. Measured with ``python -m benchmarks.plugin_cpu`` (the process's CPU per
  request, load-independent), that cost more than the dynamic-provider host's synchronous server.
  Here a synchronous ``grpc.server`` on a thread pool runs each request to the end on the thread
  that received it, converting straight between ``Struct`` and dicts (``wire.py``).
* **Start.** ``pulumi-language-yaml`` starts a plugin process of its own only to call
  ``GetSchema``, beside the engine, in every ``up`` and ``preview``. The Pulumi SDK, the provider
  classes and the HTTP client are imported by the first request that needs them (``Configure``
  comes first), never by a process that only serves the schema (``proto.py``).
* **"Not found".** The SDK's Read always sends a properties struct, and the engine treats only
  *nil* outputs as "not found": a refresh would keep a deleted object and ``pulumi import`` of a
  wrong id would import an empty resource. Read answers an empty ReadResponse instead.
* **One-line errors.** The SDK appends a Python traceback to every error message. Ours are one
  line, already redacted; :func:`_message` sends them as they are
  (``SKYFLOW_PROVIDER_TRACEBACKS=1`` adds the traceback).
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf import empty_pb2

from ..recovery import lifeline
from ..resources.schema import VERSION, package_schema
from . import diagnostics
from .proto import GRPC_OPTIONS, module

if TYPE_CHECKING:
    from .provider import SkyflowNativeProvider

#: threads serving requests; the engine's default parallelism is 4 per CPU
WORKERS_ENV = "SKYFLOW_PROVIDER_THREADS"
#: the same switch as the dynamic resources' (``resources/base.py``, which imports the SDK)
TRACEBACKS_ENV = "SKYFLOW_PROVIDER_TRACEBACKS"

pb = module("provider_pb2")
plugin_pb = module("plugin_pb2")
provider_pb2_grpc = module("provider_pb2_grpc")
_ServicerBase: Any = provider_pb2_grpc.ResourceProviderServicer

Handler = Callable[[Any, Any, Any], Any]


def _message(err: BaseException) -> str:
    """The one-line message of a provider error (or of the error it was raised from)."""
    from .provider import CleanError, NotFound

    original: BaseException = err
    while not isinstance(original, (CleanError, NotFound)) and original.__context__ is not None:
        original = original.__context__
    if isinstance(original, (CleanError, NotFound)):
        text = str(original)
    else:
        text = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    if os.environ.get(TRACEBACKS_ENV, "").lower() in ("1", "true", "yes"):
        text += "\n" + "".join(traceback.format_exception(err))
    return text


def _clean(method: Handler) -> Handler:
    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except NotImplementedError:
            raise
        except Exception as err:  # noqa: BLE001 - reported to the engine as one line
            context.abort(grpc.StatusCode.UNKNOWN, _message(err))

    return wrapper


@functools.cache
def _schema() -> str:
    return json.dumps(package_schema())


class Servicer(_ServicerBase):
    """Every RPC the engine sends a resource provider; Construct, Call, Parameterize and the
    mapping RPCs answer UNIMPLEMENTED (the generated base class), as the SDK's did."""

    def __init__(self) -> None:
        self._provider: SkyflowNativeProvider | None = None
        self._lock = threading.Lock()

    def provider(self) -> SkyflowNativeProvider:
        """The adapter, its classes and the SDK, imported by the first request that needs them."""
        if self._provider is None:
            with self._lock:
                if self._provider is None:
                    from .provider import SkyflowNativeProvider

                    self._provider = SkyflowNativeProvider()
        return self._provider

    def GetPluginInfo(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC names
        return plugin_pb.PluginInfo(version=VERSION)

    @_clean
    def GetSchema(self, request: Any, context: Any) -> Any:  # noqa: N802
        return pb.GetSchemaResponse(schema=_schema())

    @_clean
    def CheckConfig(self, request: Any, context: Any) -> Any:  # noqa: N802
        return pb.CheckResponse(inputs=request.news)

    @_clean
    def DiffConfig(self, request: Any, context: Any) -> Any:  # noqa: N802
        # DIFF_UNKNOWN: the engine compares the provider's inputs itself (docs/native-provider.md)
        return pb.DiffResponse(hasDetailedDiff=True)

    @_clean
    def Configure(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self.provider().configure(request)

    @_clean
    def Check(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self.provider().check(request)

    @_clean
    def Diff(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self.provider().diff(request)

    @_clean
    def Create(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self.provider().create(request)

    @_clean
    def Read(self, request: Any, context: Any) -> Any:  # noqa: N802
        from .provider import NotFound

        try:
            return self.provider().read(request)
        except NotFound:
            return pb.ReadResponse(id="")  # nil properties: the engine's "not found"

    @_clean
    def Update(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self.provider().update(request)

    @_clean
    def Delete(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.provider().delete(request)
        return empty_pb2.Empty()

    @_clean
    def Invoke(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self.provider().invoke(request)

    def Cancel(self, request: Any, context: Any) -> Any:  # noqa: N802
        return empty_pb2.Empty()


def serve(workers: int | None = None) -> tuple[grpc.Server, int]:
    """Start the server on a free loopback port: (server, port)."""
    n = workers or int(os.environ.get(WORKERS_ENV, "") or 32)
    server = grpc.server(ThreadPoolExecutor(max_workers=n, thread_name_prefix="skyflow"),
                         options=GRPC_OPTIONS)
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``pulumi-resource-skyflow`` (the engine passes its address)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("--version", "-version"):
        print(VERSION)
        return
    engine = next((a for a in args if not a.startswith("-")), "")
    # A SIGKILLed `pulumi up` cannot stop its plugins: exit once its engine is gone (also in a
    # process that only serves the schema and never imports the provider classes).
    lifeline.start([sys.argv[0], *args])
    diagnostics.install(engine)
    server, port = serve()
    # The engine ends a plugin with SIGINT/SIGTERM: stop serving and exit without a traceback.
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    sys.stdout.buffer.write(f"{port}\n".encode())
    sys.stdout.buffer.flush()
    stopping.wait()
    server.stop(grace=1.0).wait()


if __name__ == "__main__":
    main()
