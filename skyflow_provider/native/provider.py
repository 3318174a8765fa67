"""The Skyflow resources as a Pulumi resource provider plugin: a thin adapter over the provider
classes the dynamic resources use (``resources/*.py``). No resource logic lives here: every
request is translated (:mod:`.wire`), handed to the same ``check``/``diff``/``create``/``read``/
``update``/``delete`` method, and its answer translated back.

What the adapter itself decides, and why (docs/native-provider.md lists the SDK traps):

* one plugin process serves one provider configuration (the default provider, or each explicit
  ``pulumi:providers:skyflow`` resource), so settings live on this object and every resource
  type shares one client;
* each request runs to the end on the gRPC server thread that received it (``server.py``: a
  synchronous server on a thread pool, as the dynamic-provider host): no event loop, no second
  hand-off;
* Diff, Update and Delete get no old inputs, so everything the classes need is in the outputs
  (they already keep every input there, as the dynamic resources do);
* a Read that finds nothing raises :class:`NotFound`, which ``server.py`` answers with an empty
  response (the engine's "not found"), so ``pulumi import`` of a wrong id fails instead of
  importing an empty resource.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any, TypeVar

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
from ..resources.schema import PACKAGE
from ..resources.service_account import ServiceAccountProvider
from ..resources.service_account_key import ServiceAccountKeyProvider
from ..resources.sts_config import StsConfigProvider
from ..resources.system_role import SystemRoleProvider
from ..resources.user import UserProvider
from ..resources.vault import VaultProvider
from . import diagnostics
from .proto import module
from .wire import camel_path, camel_text, field_types, from_struct, to_struct

GET_SYSTEM_ROLE = f"{PACKAGE}:index:getSystemRole"
GET_WORKSPACE = f"{PACKAGE}:index:getWorkspace"

#: token -> provider class; the classes the dynamic resources pickle.
PROVIDER_CLASSES: tuple[type[SkyflowProvider], ...] = (
    ServiceAccountProvider, ApiKeyProvider, ServiceAccountKeyProvider, RoleProvider,
    SystemRoleProvider, PolicyProvider, RoleAssignmentProvider, PolicyAssignmentProvider,
    StsConfigProvider, VaultProvider, UserProvider,
)

T = TypeVar("T")
pb = module("provider_pb2")


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


_CONFIG_TYPES = field_types(PROVIDER_CONFIG)
_WORKSPACE_TYPES = field_types(WORKSPACE.fields)
_UPDATE, _UPDATE_REPLACE = pb.PropertyDiff.UPDATE, pb.PropertyDiff.UPDATE_REPLACE


def _failures(failures: Any) -> list[Any]:
    return [pb.CheckFailure(property=camel_path(f.property), reason=camel_text(f.reason))
            for f in failures or []]


class SkyflowNativeProvider:
    """The ``skyflow`` package's resource provider (see the module docstring)."""

    def __init__(self) -> None:
        self.classes = {cls.spec.token: cls for cls in PROVIDER_CLASSES if cls.spec is not None}
        self.instances: dict[str, SkyflowProvider] = {
            token: cls() for token, cls in self.classes.items()
        }
        self.types = {token: field_types(cls.spec.fields)
                      for token, cls in self.classes.items() if cls.spec is not None}
        self._by_urn: dict[str, tuple[SkyflowProvider, dict[str, Type]]] = {}

    # ----- helpers -----------------------------------------------------------------------------
    def _inner(self, urn_or_token: str) -> tuple[SkyflowProvider, dict[str, Type]]:
        token = urn_or_token.rsplit("::", 2)[-2] if "::" in urn_or_token else urn_or_token
        token = token.split("$")[-1]
        inner = self.instances.get(token)
        if inner is None:
            raise CleanError(f"skyflow: unknown resource type {token}")
        return inner, self.types[token]

    @staticmethod
    def _run(fn: Callable[..., T], *args: Any, urn: str = "") -> T:
        """Call a provider class; errors become one-line messages; what it prints to stderr is
        shown on ``urn`` (diagnostics.py); the stack the request is for names the token
        (recovery/owner.py)."""
        diagnostics.bind(urn or None)
        owner.bind(urn or None)
        try:
            return fn(*args)
        except (CleanError, NotFound):
            raise
        except Exception as err:  # noqa: BLE001 - every provider error reaches the CLI as text
            raise CleanError(camel_text(str(err)) or type(err).__name__) from None
        finally:
            diagnostics.bind(None)
            owner.bind(None)

    @staticmethod
    def _secret_keys(inner: SkyflowProvider, arrived: set[str]) -> set[str]:
        declared = set(inner.spec.secret_keys) if inner.spec is not None else set()
        return declared | arrived

    # ----- configuration -----------------------------------------------------------------------
    def configure(self, request: Any) -> Any:
        args, _ = from_struct(_CONFIG_TYPES, request.args)
        # Pulumi YAML hands a JSON-looking config string (credentials.json text) over as an
        # object; every provider setting is a string, so turn it back into JSON text.
        args = {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in args.items()}
        config = _Config({camel(k): v for k, v in args.items()}, dict(request.variables))
        req = SimpleNamespace(config=config)
        for inner in self.instances.values():
            inner.configure(req)  # type: ignore[arg-type]
        # acceptSecrets: secret inputs arrive marked and are kept secret in outputs (wire.py);
        # no supportsPreview: like the dynamic form, preview never calls create or update.
        return pb.ConfigureResponse(acceptSecrets=True, supportsPreview=False,
                                    acceptOutputs=False, acceptResources=False)

    # ----- resources ---------------------------------------------------------------------------
    def check(self, request: Any) -> Any:
        inner, types = self._inner(request.urn)
        news, secret = from_struct(types, request.news)
        olds, _ = from_struct(types, request.olds)
        result = self._run(inner.check, olds, news, urn=request.urn)
        return pb.CheckResponse(inputs=to_struct(types, result.inputs, secret),
                                failures=_failures(result.failures))

    def diff(self, request: Any) -> Any:
        inner, types = self._inner(request.urn)
        olds, _ = from_struct(types, request.olds)
        news, _ = from_struct(types, request.news)
        result = self._run(inner.diff, request.id, olds, news, urn=request.urn)
        replaces = list(result.replaces or [])
        changed = [k for k in inner.changed_keys(olds, news) if k not in replaces]
        detailed = {camel(k): pb.PropertyDiff(kind=_UPDATE_REPLACE, inputDiff=True)
                    for k in replaces}
        detailed.update({camel(k): pb.PropertyDiff(kind=_UPDATE, inputDiff=True)
                         for k in changed})
        if result.changes is None:
            changes = pb.DiffResponse.DIFF_UNKNOWN
        else:
            changes = pb.DiffResponse.DIFF_SOME if result.changes else pb.DiffResponse.DIFF_NONE
        return pb.DiffResponse(
            changes=changes, replaces=[camel(k) for k in replaces],
            deleteBeforeReplace=bool(result.delete_before_replace),
            diffs=list(detailed), detailedDiff=detailed, hasDetailedDiff=True)

    def create(self, request: Any) -> Any:
        inner, types = self._inner(request.urn)
        props, secret = from_struct(types, request.properties)
        result = self._run(inner.create, props, urn=request.urn)
        return pb.CreateResponse(id=str(result.id), properties=to_struct(
            types, result.outs or {}, self._secret_keys(inner, secret)))

    def read(self, request: Any) -> Any:
        inner, types = self._inner(request.urn)
        props, secret = from_struct(types, request.properties)
        result = self._run(inner.read, request.id, props, urn=request.urn)
        if not result.id:
            raise NotFound(request.id)
        secrets = self._secret_keys(inner, secret)
        inputs = result.inputs
        if inputs is None:
            inputs = {k: v for k, v in (result.outs or {}).items() if k in inner.input_keys}
        return pb.ReadResponse(id=str(result.id),
                               properties=to_struct(types, result.outs or {}, secrets),
                               inputs=to_struct(types, inputs, secrets))

    def update(self, request: Any) -> Any:
        inner, types = self._inner(request.urn)
        olds, old_secret = from_struct(types, request.olds)
        news, new_secret = from_struct(types, request.news)
        result = self._run(inner.update, request.id, olds, news, urn=request.urn)
        secrets = self._secret_keys(inner, new_secret | (old_secret & set(inner.output_keys)))
        return pb.UpdateResponse(properties=to_struct(types, result.outs or {}, secrets))

    def delete(self, request: Any) -> None:
        inner, types = self._inner(request.urn)
        props, _ = from_struct(types, request.properties)
        self._run(inner.delete, request.id, props, urn=request.urn)

    # ----- functions ---------------------------------------------------------------------------
    def invoke(self, request: Any) -> Any:
        if request.tok == GET_WORKSPACE:
            return self._get_workspace(request)
        if request.tok != GET_SYSTEM_ROLE:
            raise CleanError(f"skyflow: unknown function {request.tok}")
        inner, types = self._inner(SYSTEM_ROLE.token)
        args, _ = from_struct(types, request.args)
        checked = self._run(inner.check, {}, args)
        if checked.failures:
            return pb.InvokeResponse(failures=_failures(checked.failures))
        # SystemRole's create is the look-up itself (it creates nothing in Skyflow).
        result = self._run(inner.create, checked.inputs)
        outs = {k: v for k, v in (result.outs or {}).items() if isinstance(v, str)}
        return pb.InvokeResponse(**{"return": to_struct(types, outs)})


    def _get_workspace(self, request: Any) -> Any:
        """The same look-up as the Python ``get_workspace``, with this provider's client."""
        types = _WORKSPACE_TYPES
        args, _ = from_struct(types, request.args)
        failures = workspace.check_args(args)
        if failures:
            return pb.InvokeResponse(failures=_failures(failures))
        inner = self.instances[VAULT.token]

        def find() -> dict[str, Any]:
            found = inner.call("look up the workspace", workspace.lookup, inner.client,
                               args.get("id"), args.get("name"))
            return workspace.result_of(found)

        result = self._run(find)
        return pb.InvokeResponse(**{"return": to_struct(types, result)})


__all__ = ["GET_SYSTEM_ROLE", "GET_WORKSPACE", "PACKAGE", "CleanError", "NotFound",
           "SkyflowNativeProvider"]
