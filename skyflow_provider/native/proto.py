"""The Pulumi gRPC messages and stubs the plugin needs, without importing the Pulumi SDK.

Why: ``import pulumi`` costs ~0.3 s of CPU (the package imports its automation API), and
``pulumi-language-yaml`` starts a plugin process of its own only to read the schema, beside the
engine, at the start of every ``up`` and ``preview``. The generated modules live in the SDK's
``pulumi/runtime/proto`` directory and import one another relatively, so they are loaded as a
package of another name whose path is that directory: the package ``__init__`` files of
``pulumi`` and ``pulumi.runtime`` never run. The descriptors land in protobuf's default pool
under their own names (``pulumi/provider.proto``); when the SDK is imported later (the
provider classes import it), it registers the same files again, which the pool accepts, and
both names give the same message classes (``tests/native/test_wire.py`` checks it).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

_PACKAGE = "_skyflow_pulumi_proto"

#: the SDK's gRPC options (``pulumi.runtime._grpc_settings``): messages up to 400 MiB
GRPC_OPTIONS = [("grpc.max_receive_message_length", 400 * 1024 * 1024),
                ("grpc.server_max_unrequested_time_in_server", 30 * 60)]


def _package() -> str:
    if _PACKAGE not in sys.modules:
        spec = importlib.util.find_spec("pulumi")  # finds the package without importing it
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("the Pulumi SDK (pulumi) is not installed")
        pkg = types.ModuleType(_PACKAGE)
        pkg.__path__ = [str(Path(next(iter(spec.submodule_search_locations)))
                            / "runtime" / "proto")]
        sys.modules[_PACKAGE] = pkg
    return _PACKAGE


def module(name: str) -> Any:
    """``provider_pb2``, ``provider_pb2_grpc``, ``engine_pb2``, ``engine_pb2_grpc``, ..."""
    return importlib.import_module(f"{_package()}.{name}")
