"""Shared base for every Skyflow dynamic provider.

Why this exists: the provider object is pickled into Pulumi state (as ``__provider``) and
unpickled in the provider process. Anything stored on it must be tiny and free of secrets, and
HTTP clients (SSL contexts) cannot be pickled at all. So settings are read in ``configure()``
(which only runs in the provider process, from the *current* stack config), the Management API
client is created lazily and shared per process, and ``__reduce__`` pickles the class alone,
without any runtime attribute.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NoReturn

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, ConfigureRequest, DiffResult, ResourceProvider
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from ..http.errors import ConflictError, NotFoundError, SkyflowError
from ..recovery import ledger, lifeline, owner
from .fields import ResourceSpec

PROVIDER_KEY = "__provider"

# One ManagementClient per (equal) settings per process: every resource type has its own pickled
# provider instance, but they should share one client so one token exchange serves them all.
_CLIENTS_LOCK = threading.Lock()
_CLIENTS: list[tuple[Any, Any]] = []


CONFLICT_HINT = (
    "Names are unique in Skyflow: another stack or a hand-made object already uses this one. "
    "Pick another name (the reference stack prefixes names with namePrefix, default the stack "
    "name) or delete the other object; `pulumi import` does not work for dynamic resources"
)


TRACEBACKS_ENV = "SKYFLOW_PROVIDER_TRACEBACKS"


def quiet_tracebacks() -> None:
    """Show users our one-line error messages, not Python tracebacks.

    Pulumi's dynamic-provider host reports every exception raised by create/update/delete as
    ``traceback.format_exc()``, so a clean "Skyflow: ... failed: 409 ..." reaches the CLI buried
    under our stack frames. With ``sys.tracebacklimit = 0`` the formatted text is just
    ``Type: message``. The limit is process-wide (``traceback.extract_stack`` honours it too, which
    Pulumi's resource registration needs), so it is set only inside the dynamic-provider host
    (``python -m pulumi.dynamic``), never in a program or a test process. Set
    ``SKYFLOW_PROVIDER_TRACEBACKS=1`` to get full tracebacks back when debugging the provider.
    """
    if os.environ.get(TRACEBACKS_ENV, "").lower() in ("1", "true", "yes"):
        return
    if in_dynamic_provider_host():
        sys.tracebacklimit = 0


def in_dynamic_provider_host() -> bool:
    """True in the process Pulumi starts for dynamic providers (``python -m pulumi.dynamic``)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return getattr(spec, "name", None) == "pulumi.dynamic.__main__"


def in_provider_plugin() -> bool:
    """True in a provider process the engine started: the dynamic-provider host, or the
    native plugin (``pulumi-resource-skyflow``)."""
    return in_dynamic_provider_host() or os.path.basename(sys.argv[0] if sys.argv else "") \
        .startswith("pulumi-resource-skyflow")


if in_provider_plugin():
    # A SIGKILLed `pulumi up` cannot stop its plugins: exit once its engine is gone.
    lifeline.start()


class SkyflowProviderError(Exception):
    """A clean, secret-free error surfaced to the Pulumi CLI (no chained traceback)."""


def is_unknown(value: Any) -> bool:
    """True for a value the engine does not know yet (preview).

    SDK 3.272 deserializes unknowns in check/diff as ``pulumi.output.Unknown`` instances; older
    paths use the sentinel string ``pulumi.runtime.rpc.UNKNOWN``. Both count.
    """
    if isinstance(value, Unknown):
        return True
    return isinstance(value, str) and value == UNKNOWN


def contains_unknown(value: Any) -> bool:
    """True when the value, or anything nested in it, is still unknown."""
    if is_unknown(value):
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_unknown(v) for v in value)
    return False


def describe_error(err: SkyflowError, action: str) -> str:
    """One line: what we tried, then the error's own (already redacted) explanation.

    SkyflowError messages carry status, Skyflow's message, request id and a hint, and never a
    request body or header, so nothing secret reaches the CLI output.
    """
    if getattr(err, "operation", None):
        return f"Skyflow: {err}"  # the client's message already names operation and target
    return f"Skyflow: {action} failed: {err}"


def raise_clean(err: SkyflowError, action: str, hint: str | None = None) -> NoReturn:
    """Re-raise a SkyflowError as a SkyflowProviderError without the chained traceback."""
    message = describe_error(err, action)
    if hint:
        message = message.rstrip(". ") + f". {hint}"
    raise SkyflowProviderError(message) from None


def to_plain(value: Any) -> Any:
    """Turn Args dataclasses (possibly nested in lists/dicts) into plain dicts for props.

    Pulumi's serializer does not understand plain dataclasses; ``None`` fields are dropped so the
    provider sees them as absent.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not None
        }
    if isinstance(value, Mapping):
        return {k: to_plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def merge_args(
    args: Any, kwargs: Mapping[str, Any], args_type: type, fill: Iterable[str] = ()
) -> dict[str, Any]:
    """Build props from an Args object and/or keyword arguments (keywords win).

    Every key in ``fill`` the caller left out is set to ``None``: the SDK only creates an
    ``Output`` attribute for keys present in props, so this makes every declared attribute exist.
    """
    if args is not None and not isinstance(args, args_type):
        raise TypeError(f"expected {args_type.__name__}, got {type(args).__name__}")
    allowed = {f.name for f in dataclasses.fields(args_type)}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise TypeError(f"{args_type.__name__} has no field(s): {', '.join(unknown)}")
    props: dict[str, Any] = to_plain(args) if args is not None else {}
    props.update({k: to_plain(v) for k, v in kwargs.items() if v is not None})
    for key in fill:
        props.setdefault(key, None)
    return props


def declare(
    spec: ResourceSpec, args: Any, kwargs: Mapping[str, Any], args_type: type,
    opts: pulumi.ResourceOptions | None,
) -> tuple[dict[str, Any], pulumi.ResourceOptions]:
    """Props and options of a resource being declared: every state key present (the SDK only
    creates ``Output`` attributes for keys in props) and the declared secret outputs forced."""
    props = merge_args(args, kwargs, args_type, fill=spec.state_keys)
    return props, with_secret_outputs(opts, spec.secret_outputs)


def with_secret_outputs(
    opts: pulumi.ResourceOptions | None, secret_keys: Iterable[str]
) -> pulumi.ResourceOptions:
    """Merge the resource's generated-secret output names into the caller's options."""
    forced = pulumi.ResourceOptions(additional_secret_outputs=list(secret_keys))
    return pulumi.ResourceOptions.merge(opts, forced)


def strip_provider(props: Mapping[str, Any]) -> dict[str, Any]:
    """Copy of props without the pickled provider."""
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}


def shared_client(settings: Any) -> Any:
    """The process-wide ManagementClient for ``settings`` (one per equal settings)."""
    with _CLIENTS_LOCK:
        for known, client in _CLIENTS:
            if known is settings or known == settings:
                return client
        from ..api.client import ManagementClient

        # the stack's tag is the token's ctx: the audit log tells what this stack made (owner.py)
        client = ManagementClient(settings, owner_tag=owner.resolve(settings.owner_tag))
        _CLIENTS.append((settings, client))
        return client


class SkyflowProvider(ResourceProvider):
    """Base provider: settings from configure(), one shared client per process, clean errors.

    Subclasses set ``spec`` (their declaration, ``declarations.py``), from which the key tuples
    below are derived, and implement ``validate`` / CRUD.
    """

    serialize_as_secret_always = True

    #: the resource's field declaration
    spec: ResourceSpec | None = None
    #: every user-settable input property
    input_keys: tuple[str, ...] = ()
    #: inputs that diff compares (hints and create-time-only inputs are not)
    compared_keys: tuple[str, ...] = ()
    #: provider-computed outputs (put in props as None; never inputs)
    output_keys: tuple[str, ...] = ()
    #: inputs whose change requires a new object
    replace_keys: tuple[str, ...] = ()
    #: replace by deleting first (e.g. unique names, or ids derived from inputs)
    delete_before_replace: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Derive the key tuples from ``spec`` (declared once, never restated)."""
        super().__init_subclass__(**kwargs)
        spec = cls.__dict__.get("spec")
        if spec is not None:
            cls.input_keys = spec.input_keys
            cls.compared_keys = spec.compared_keys
            cls.output_keys = spec.output_keys
            cls.replace_keys = spec.replace_keys
            cls.delete_before_replace = spec.delete_before_replace

    # Runtime-only attributes (class defaults so an unpickled, never-configured instance works).
    _settings: Any = None
    _settings_error: Exception | None = None
    _client: Any = None

    # ----- pickling: only the class reference goes into state ---------------------------------
    def __reduce__(self) -> tuple[type, tuple[()]]:
        """Pickle as "this class, no state": settings, clients and locks are rebuilt in the
        provider process.

        Returning no state (rather than an empty ``__getstate__`` dict) also keeps the blob off
        the dict-pickling path, which Pulumi SDK 3.272's ``serialize_provider`` wraps once more on
        every call without unwrapping: with a dict, a program of ~980 resources hit
        RecursionError (benchmarks/what_if.py).
        """
        return (type(self), ())

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Blobs pickled by older versions carried an empty state; nothing to restore."""

    # ----- configuration -----------------------------------------------------------------------
    def configure(self, req: ConfigureRequest) -> None:
        """Read settings from the current stack config (env fallback); defer errors to first use.

        Deferring means check/diff keep working without credentials (preview needs no API call).
        """
        from ..api.settings import settings_from_config

        quiet_tracebacks()

        def get(key: str) -> Any:
            try:
                return req.config.get(key)
            except Exception:  # noqa: BLE001 - a missing/odd key is just "not set"
                return None

        try:
            self._settings = settings_from_config(get)
            self._settings_error = None
        except Exception as err:  # noqa: BLE001 - reported when a client is needed
            self._settings = None
            self._settings_error = err

    def _load_settings(self) -> Any:
        if self._settings is not None:
            return self._settings
        if self._settings_error is not None:
            raise SkyflowProviderError(
                f"Skyflow provider settings are invalid: {self._settings_error}"
            ) from None
        # Not configured (e.g. called outside the provider process): fall back to env only.
        from ..api.settings import settings_from_config

        try:
            self._settings = settings_from_config(lambda _key: None)
        except Exception as err:  # noqa: BLE001
            raise SkyflowProviderError(f"Skyflow provider settings are invalid: {err}") from None
        return self._settings

    @property
    def client(self) -> Any:
        """The process-wide ManagementClient for these settings (created on first use)."""
        if self._client is None:
            self._client = shared_client(self._load_settings())
        return self._client

    def call(
        self,
        action: str,
        fn: Callable[..., Any],
        *args: Any,
        missing_ok: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Run one client call, turning SkyflowError into a clean provider error.

        With ``missing_ok`` a 404 returns None (read: gone; delete: already deleted).
        """
        try:
            return fn(*args, **kwargs)
        except SkyflowError as err:
            if missing_ok and isinstance(err, NotFoundError):
                return None
            hint = CONFLICT_HINT if isinstance(err, ConflictError) else None
            raise_clean(err, action, hint)

    @contextlib.contextmanager
    def undo_on_failure(self, delete: Callable[[], Any], made: str = "") -> Iterator[None]:
        """Delete a just-created object if a follow-up step fails, then re-raise.

        A dynamic provider cannot report a partially created resource, so without this a failed
        follow-up would leak an object Pulumi does not know about (and the next up would hit a
        name conflict). ``made``: the object's id, handed to ``ledger.deliver`` once the block
        passed (undone when the engine died meanwhile).
        """
        try:
            yield
        except BaseException:
            try:
                delete()
            except Exception:  # noqa: BLE001,S110 - the original error is the one to report
                pass
            raise
        if made:
            kind = self.spec.name if self.spec is not None else type(self).__name__
            ledger.deliver(made, delete, f"{kind} {made}")

    # ----- check / diff ------------------------------------------------------------------------
    def validate(self, news: dict[str, Any]) -> list[CheckFailure]:
        """Return failures for the (defaulted) inputs; no API calls."""
        return []

    def apply_defaults(self, news: dict[str, Any]) -> dict[str, Any]:
        """Fill the declared defaults so state is complete and refresh compares like with like;
        ``display_name`` defaults to ``name`` where a resource has both."""
        out = self.spec.fill_defaults(news) if self.spec is not None else dict(news)
        if "display_name" in self.input_keys and out.get("display_name") in (None, ""):
            out["display_name"] = out.get("name")
        return out

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = {
            k: val for k, val in strip_provider(news).items()
            if not (k in self.output_keys and k not in self.input_keys)
        }
        inputs = self.apply_defaults(inputs)
        failures = self.validate(inputs)
        if not failures and self._settings_error is not None:
            # Malformed credentials or config are knowable without an API call: say so at
            # preview, naming the config key, rather than at the first create.
            self._load_settings()
        return CheckResult(inputs, failures)

    def stated_inputs(self, olds: Mapping[str, Any]) -> dict[str, Any]:
        """Inputs with an absent input read as its declared default: a state written before a
        field existed (or imported) must not show that field as changed, nor must the unchecked
        inputs the engine passes to Diff at refresh."""
        return self.spec.fill_defaults(olds) if self.spec is not None else dict(olds)

    def changed_keys(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        """Compared input keys whose value differs between state (olds) and checked inputs."""
        olds, news = self.stated_inputs(olds), self.stated_inputs(news)
        return [k for k in self.compared_keys if not same_value(olds.get(k), news.get(k))]

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = self.changed_keys(olds, news)
        replaces = [k for k in changed if k in self.replace_keys]
        # adopt_id only matters at creation; naming another object than the one held replaces
        # (adopts that one instead).
        adopt = news.get("adopt_id") if "adopt_id" in self.input_keys else None
        if adopt and not is_unknown(adopt) and adopt != id_:
            replaces.append("adopt_id")
        return DiffResult(
            changes=bool(changed) or bool(replaces),
            replaces=replaces,
            delete_before_replace=bool(replaces) and self.delete_before_replace,
        )


def same_value(old: Any, new: Any) -> bool:
    """Equality where absent and empty (None, "", [], {}) count as the same; unknown differs."""
    if is_unknown(new):
        return False
    if old in (None, "", [], {}) and new in (None, "", [], {}):
        return True
    return bool(old == new)


def carry(olds: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """Copy the given output keys (e.g. generated secrets) from olds."""
    return {k: olds.get(k) for k in keys}


def failure(prop: str, reason: str) -> CheckFailure:
    """Shorthand for CheckFailure with our property-path conventions."""
    return CheckFailure(prop, reason)
