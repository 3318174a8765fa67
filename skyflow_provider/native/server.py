"""``pulumi-resource-skyflow``: serve :class:`SkyflowNativeProvider` over Pulumi's gRPC protocol.

Why not ``pulumi.provider.experimental.server.main`` as is: its servicer (SDK 3.272)

* always sends a properties struct from Read, and the engine treats only *nil* outputs as "not
  found": a refresh would keep a deleted object and ``pulumi import`` of a wrong id would import
  an empty resource. :meth:`Servicer.Read` answers an empty ReadResponse instead;
* appends a Python traceback to every error message. Our errors are one line, already redacted;
  :func:`_clean` sends them as they are (``SKYFLOW_PROVIDER_TRACEBACKS=1`` adds the traceback).

Everything else (Check, Diff, Create, Update, Delete, Configure, GetSchema, Invoke) is the SDK's
own servicer method.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import grpc.aio
from pulumi.provider.experimental import provider as p
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.provider.experimental.server import ProviderServicer
from pulumi.runtime import proto
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
from pulumi.runtime.proto import provider_pb2_grpc

from ..resources.base import TRACEBACKS_ENV
from ..resources.schema import VERSION
from . import diagnostics
from .provider import CleanError, NotFound, SkyflowNativeProvider

Handler = Callable[[Any, Any, Any], Awaitable[Any]]


def _message(err: BaseException) -> str:
    """The one-line message of a provider error (the SDK wraps ours in a plain Exception whose
    ``__context__`` is the original)."""
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
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await method(self, request, context)
        except NotImplementedError:
            raise
        except Exception as err:  # noqa: BLE001 - reported to the engine as one line
            if isinstance(err, grpc.aio.AbortError):
                raise
            await context.abort(grpc.StatusCode.UNKNOWN, _message(err))

    wrapper.__name__ = method.__name__
    return wrapper


class Servicer(ProviderServicer):
    """The SDK's servicer with a "not found" Read and one-line errors."""

    async def Read(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC method name
        provider: SkyflowNativeProvider = self._provider  # type: ignore[assignment]
        try:
            resp = await provider.read(
                p.ReadRequest(
                    request.urn,
                    request.id,
                    PropertyValue.unmarshal_map(request.properties),
                    PropertyValue.unmarshal_map(request.inputs),
                )
            )
        except NotFound:
            return proto.ReadResponse(id="")  # nil properties: the engine's "not found"
        return proto.ReadResponse(
            id=resp.resource_id or "",
            properties=PropertyValue.marshal_map(resp.properties or {}),
            inputs=PropertyValue.marshal_map(resp.inputs or {}),
        )


for _name in ("GetSchema", "CheckConfig", "Configure", "Check", "Diff", "Create", "Read",
              "Update", "Delete", "Invoke"):
    setattr(Servicer, _name, _clean(getattr(Servicer, _name)))


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``pulumi-resource-skyflow`` (the engine passes its address)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("--version", "-version"):
        print(VERSION)
        return
    engine = next((a for a in args if not a.startswith("-")), "")
    provider = SkyflowNativeProvider()
    diagnostics.install(engine)

    async def serve() -> None:
        server = grpc.aio.server(options=_GRPC_CHANNEL_OPTIONS)
        provider_pb2_grpc.add_ResourceProviderServicer_to_server(
            Servicer(args, VERSION, provider, engine_address=engine), server)
        port = server.add_insecure_port(address="127.0.0.1:0")
        await server.start()
        # The engine ends a plugin with SIGINT/SIGTERM: stop the server on the loop, or grpc's
        # Server.__del__ runs after the loop closed and prints a traceback into --debug output.
        loop = asyncio.get_running_loop()
        stopping: list[asyncio.Task[None]] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: stopping.append(
                loop.create_task(server.stop(grace=1.0))))
        sys.stdout.buffer.write(f"{port}\n".encode())
        sys.stdout.buffer.flush()
        await server.wait_for_termination()
        for task in stopping:
            await task

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
