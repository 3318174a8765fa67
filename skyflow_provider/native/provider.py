"""The Skyflow resources as a Pulumi resource provider plugin: a thin adapter over the provider
classes the dynamic resources use (``resources/*.py``). No resource logic lives here: every
request is translated (:mod:`.wire`), handed to the same ``check``/``diff``/``create``/``read``/
``update``/``delete`` method, and its answer translated back.

What the adapter itself decides, and why (docs/native-provider.md lists the SDK traps):

* one plugin process serves one provider configuration (the default provider, or each explicit
  ``pulumi:providers:skyflow`` resource), so settings live on this object and every resource
  type shares one client;
* blocking client calls run in a thread pool, never on the SDK's single asyncio loop, or the
  engine's parallelism would be lost;
* Diff, Update and Delete get no old inputs, so everything the classes need is in the outputs
  (they already keep every input there, as the dynamic resources do);
* a Read that finds nothing answers "not found" (see ``server.py``), so ``pulumi import`` of a
  wrong id fails instead of importing an empty resource;
* ``DiffConfig`` is not overridden (the SDK mis-encodes a changed answer; the default lets the
  engine compare provider config itself).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any, TypeVar

from pulumi.provider.experimental import provider as p
from pulumi.provider.experimental.property_value import PropertyValue

from ..recovery import owner
from ..resources import workspace
from ..resources.api_key import ApiKeyProvider
from ..resources.base import SkyflowProvider
from ..resources.declarations import PROVIDER_CONFIG, SYSTEM_ROLE, VAULT, WORKSPACE
from ..resources.fields import Type, camel
from ..resources.policy import PolicyProvider
from ..resources.policy_assignment import PolicyAssignmentProvider
from ..resources.role import RoleProvider
from ..resources.role_assignment import RoleAssignmentProvider
from ..resources.schema import PACKAGE, VERSION, package_schema
from ..resources.service_account import ServiceAccountProvider
from ..resources.service_account_key import ServiceAccountKeyProvider
from ..resources.sts_config import StsConfigProvider
from ..resources.system_role import SystemRoleProvider
from ..resources.user import UserProvider
from ..resources.vault import VaultProvider
from . import diagnostics
from .wire import camel_path, camel_text, field_types, from_wire, to_wire

GET_SYSTEM_ROLE = f"{PACKAGE}:index:getSystemRole"
GET_WORKSPACE = f"{PACKAGE}:index:getWorkspace"

#: token -> provider class; the classes the dynamic resources pickle.
PROVIDER_CLASSES: tuple[type[SkyflowProvider], ...] = (
    ServiceAccountProvider, ApiKeyProvider, ServiceAccountKeyProvider, RoleProvider,
    SystemRoleProvider, PolicyProvider, RoleAssignmentProvider, PolicyAssignmentProvider,
    StsConfigProvider, VaultProvider, UserProvider,
)

#: threads for blocking client calls; the engine's default parallelism is much higher than the
#: SDK loop's default executor (min(32, cores + 4)).
WORKERS_ENV = "SKYFLOW_PROVIDER_THREADS"

T = TypeVar("T")


class NotFound(Exception):
    """Read found no object: ``server.py`` answers with an empty ReadResponse."""

    def __init__(self, resource_id: str) -> None:
        super().__init__(resource_id)
        self.resource_id = resource_id


class CleanError(Exception):
    """A one-line message for the CLI (no traceback appended; ``server.py`` sends it as is)."""


class _Config:
    """``req.config.get("skyflow:accountId")`` over the provider's inputs and config variables,
    the shape ``SkyflowProvider.configure`` reads (env fallback happens in settings)."""

    def __init__(self, args: Mapping[str, Any], variables: Mapping[str, str]) -> None:
        self._args = args
        self._variables = variables

    def get(self, key: str) -> Any:
        name = key.split(":", 1)[-1]
        if name in self._args and self._args[name] is not None:
            return self._args[name]
        return self._variables.get(f"{PACKAGE}:config:{name}")


def _config_types() -> dict[str, Type]:
    return field_types(PROVIDER_CONFIG)


class SkyflowNativeProvider(p.Provider):
    """The ``skyflow`` package's resource provider (see the module docstring)."""

    def __init__(self, workers: int | None = None) -> None:
        self.classes = {cls.spec.token: cls for cls in PROVIDER_CLASSES if cls.spec is not None}
        self.instances: dict[str, SkyflowProvider] = {
            token: cls() for token, cls in self.classes.items()
        }
        self.types = {token: field_types(cls.spec.fields)
                      for token, cls in self.classes.items() if cls.spec is not None}
        n = workers or int(os.environ.get(WORKERS_ENV, "") or 32)
        self._pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="skyflow")

    # ----- helpers -----------------------------------------------------------------------------
    def _inner(self, urn_or_token: str) -> tuple[SkyflowProvider, dict[str, Type]]:
        token = urn_or_token.rsplit("::", 2)[-2] if "::" in urn_or_token else urn_or_token
        token = token.split("$")[-1]
        inner = self.instances.get(token)
        if inner is None:
            raise CleanError(f"skyflow: unknown resource type {token}")
        return inner, self.types[token]

    async def _run(self, fn: Callable[..., T], *args: Any, urn: str = "") -> T:
        """Run a blocking call off the loop; errors become one-line messages; what it prints
        to stderr is shown on ``urn`` (diagnostics.py)."""
        loop = asyncio.get_running_loop()

        def call() -> T:
            diagnostics.bind(urn or None)
            owner.bind(urn or None)  # the stack the request is for names the token (owner.py)
            try:
                return fn(*args)
            finally:
                diagnostics.bind(None)
                owner.bind(None)

        try:
            return await loop.run_in_executor(self._pool, call)
        except (CleanError, NotFound):
            raise
        except Exception as err:  # noqa: BLE001 - every provider error reaches the CLI as text
            raise CleanError(camel_text(str(err)) or type(err).__name__) from None

    @staticmethod
    def _secret_keys(inner: SkyflowProvider, arrived: set[str]) -> set[str]:
        declared = set(inner.spec.secret_keys) if inner.spec is not None else set()
        return declared | arrived

    # ----- schema and configuration ------------------------------------------------------------
    async def get_schema(self, request: p.GetSchemaRequest) -> p.GetSchemaResponse:
        return p.GetSchemaResponse(schema=json.dumps(package_schema()))

    async def configure(self, request: p.ConfigureRequest) -> p.ConfigureResponse:
        args, _ = from_wire(_config_types(), request.args)
        # Pulumi YAML hands a JSON-looking config string (credentials.json text) over as an
        # object; every provider setting is a string, so turn it back into JSON text.
        args = {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in args.items()}
        config = _Config({camel(k): v for k, v in args.items()}, dict(request.variables))
        req = SimpleNamespace(config=config)
        for inner in self.instances.values():
            inner.configure(req)  # type: ignore[arg-type]
        # accept_secrets: secret inputs arrive marked and are kept secret in outputs (wire.py);
        # no supports_preview: like the dynamic form, preview never calls create or update.
        return p.ConfigureResponse(accept_secrets=True, supports_preview=False,
                                   accept_outputs=False, accept_resources=False)

    # ----- resources ---------------------------------------------------------------------------
    async def check(self, request: p.CheckRequest) -> p.CheckResponse:
        inner, types = self._inner(request.urn)
        news, secret = from_wire(types, request.new_inputs)
        olds, _ = from_wire(types, request.old_inputs)
        result = await self._run(inner.check, olds, news, urn=request.urn)
        failures = [p.CheckFailure(camel_path(f.property), camel_text(f.reason))
                    for f in result.failures or []]
        return p.CheckResponse(inputs=to_wire(types, result.inputs, secret), failures=failures)

    async def diff(self, request: p.DiffRequest) -> p.DiffResponse:
        inner, types = self._inner(request.urn)
        olds, _ = from_wire(types, request.old_state)
        news, _ = from_wire(types, request.new_inputs)
        result = await self._run(inner.diff, request.resource_id, olds, news, urn=request.urn)
        replaces = list(result.replaces or [])
        changed = [k for k in inner.changed_keys(olds, news) if k not in replaces]
        detailed = {camel(k): p.PropertyDiff(p.PropertyDiffKind.UPDATE_REPLACE, True)
                    for k in replaces}
        detailed.update({camel(k): p.PropertyDiff(p.PropertyDiffKind.UPDATE, True)
                         for k in changed})
        return p.DiffResponse(
            changes=bool(result.changes),
            replaces=[camel(k) for k in replaces],
            delete_before_replace=bool(result.delete_before_replace),
            diffs=list(detailed),
            detailed_diff=detailed,
        )

    async def create(self, request: p.CreateRequest) -> p.CreateResponse:
        inner, types = self._inner(request.urn)
        props, secret = from_wire(types, request.properties)
        result = await self._run(inner.create, props, urn=request.urn)
        outs = result.outs or {}
        return p.CreateResponse(resource_id=str(result.id),
                                properties=to_wire(types, outs, self._secret_keys(inner, secret)))

    async def read(self, request: p.ReadRequest) -> p.ReadResponse:
        inner, types = self._inner(request.urn)
        props, secret = from_wire(types, request.properties)
        result = await self._run(inner.read, request.resource_id, props, urn=request.urn)
        if not result.id:
            raise NotFound(request.resource_id)
        secrets = self._secret_keys(inner, secret)
        inputs = result.inputs
        if inputs is None:
            inputs = {k: v for k, v in (result.outs or {}).items() if k in inner.input_keys}
        return p.ReadResponse(resource_id=str(result.id),
                              properties=to_wire(types, result.outs or {}, secrets),
                              inputs=to_wire(types, inputs, secrets))

    async def update(self, request: p.UpdateRequest) -> p.UpdateResponse:
        inner, types = self._inner(request.urn)
        olds, old_secret = from_wire(types, request.olds)
        news, new_secret = from_wire(types, request.news)
        result = await self._run(inner.update, request.resource_id, olds, news,
                                 urn=request.urn)
        secrets = self._secret_keys(inner, new_secret | (old_secret & set(inner.output_keys)))
        return p.UpdateResponse(properties=to_wire(types, result.outs or {}, secrets))

    async def delete(self, request: p.DeleteRequest) -> None:
        inner, types = self._inner(request.urn)
        props, _ = from_wire(types, request.properties)
        await self._run(inner.delete, request.resource_id, props, urn=request.urn)

    # ----- functions ---------------------------------------------------------------------------
    async def invoke(self, request: p.InvokeRequest) -> p.InvokeResponse:
        if request.tok == GET_WORKSPACE:
            return await self._get_workspace(request)
        if request.tok != GET_SYSTEM_ROLE:
            raise CleanError(f"skyflow: unknown function {request.tok}")
        inner, types = self._inner(SYSTEM_ROLE.token)
        args, _ = from_wire(types, request.args)
        checked = await self._run(inner.check, {}, args)
        if checked.failures:
            return p.InvokeResponse(failures=[
                p.CheckFailure(camel_path(f.property), camel_text(f.reason))
                for f in checked.failures])
        # SystemRole's create is the look-up itself (it creates nothing in Skyflow).
        result = await self._run(inner.create, checked.inputs)
        outs = dict(result.outs or {})
        return p.InvokeResponse(return_value={
            camel(k): PropertyValue(v) for k, v in outs.items() if isinstance(v, str)})


    async def _get_workspace(self, request: p.InvokeRequest) -> p.InvokeResponse:
        """The same look-up as the Python ``get_workspace``, with this provider's client."""
        args, _ = from_wire(field_types(WORKSPACE.fields), request.args)
        failures = workspace.check_args(args)
        if failures:
            return p.InvokeResponse(failures=[
                p.CheckFailure(camel_path(f.property), camel_text(f.reason)) for f in failures])
        inner = self.instances[VAULT.token]

        def find() -> dict[str, Any]:
            found = inner.call("look up the workspace", workspace.lookup, inner.client,
                               args.get("id"), args.get("name"))
            return workspace.result_of(found)

        result = await self._run(find)
        return p.InvokeResponse(return_value={camel(k): PropertyValue(v)
                                              for k, v in result.items()})


__all__ = ["GET_SYSTEM_ROLE", "GET_WORKSPACE", "PACKAGE", "VERSION", "CleanError", "NotFound",
           "SkyflowNativeProvider"]
