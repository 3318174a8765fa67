"""The stack's last checkpoint, read once per provider process: what a killed run was creating,
and what the state holds.

Why: a killed ``pulumi up`` leaves its creates in the checkpoint as *pending operations*
(without ids: they never returned), and the next ``up`` repeats them. That is the only place
that says "a run of this stack may have left an object of this name, or a key on this account,
behind", and so the only reason to look anything up in Skyflow before a create: without it a
create is just the create (no listing whose cost grows with the account). Reading it
is one ``pulumi stack export`` with the CLI that started this process (``lifeline.read_back``).

When: before this process's first create check (``SkyflowProvider.check`` of a new resource
calls :meth:`Checkpoint.ensure`, and every other create check waits for it). No create of this
run can be scheduled before its check passed, so the pending operations read then are the
killed runs' alone. A read that happens later (a replacement, a rotation) also sees this run's
own pending creates; the creates that already arrived are subtracted (:meth:`arrive`), and any
still in flight cost one needless name lookup at most. No read, no recovery: nothing is looked
up and nothing deleted.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from . import lifeline

#: outputs that hold a key's id (dynamic resources in snake_case, the native plugin in camelCase)
KEY_ID_OUTPUTS = ("key_id", "api_key_id", "previous_key_id", "keyId", "apiKeyId",
                  "previousKeyId")
#: keys an account's resource knows about but does not manage: not ours to delete either
KNOWN_KEY_LISTS = ("unmanaged_key_ids", "unmanagedKeyIds")
EXPORT_TIMEOUT_S = 20.0
#: resource types whose create makes a named object (a user's name is its email; a role's and
#: a policy's is per vault), and the kinds of key creates
NAMED = ("ServiceAccount", "Role", "Policy", "Vault", "User", "StsConfig")
PER_VAULT = ("Role", "Policy")
KEY_KINDS = {"ServiceAccountKey": "key", "ApiKey": "API key"}

ReadBack = Callable[[], "tuple[str, list[str]] | None"]


@dataclasses.dataclass(frozen=True)
class Creating:
    """What a create makes: a named object (``kind`` ServiceAccount, Role, Policy; ``scope`` its
    vault, "" for an account) or a key (``kind`` "key" / "API key"; ``scope`` its account)."""

    kind: str
    scope: str
    name: str = ""

    def describe(self) -> str:
        if self.kind in KEY_KINDS.values():
            return f"{self.kind} of service account {self.scope}"
        where = f" on vault {self.scope}" if self.scope else ""
        return f"{self.kind} {self.name!r}{where}"


def _type(resource: Mapping[str, Any]) -> str:
    """``ServiceAccountKey`` from ``pulumi-python:dynamic/skyflow:ServiceAccountKey`` (dynamic)
    or ``skyflow:index:ServiceAccountKey`` (native)."""
    return str(resource.get("type") or "").rsplit(":", 1)[-1]


def _input(inputs: Mapping[str, Any], snake: str, camel: str) -> str:
    value = inputs.get(snake, inputs.get(camel))
    return value if isinstance(value, str) else ""


def creating(resource: Mapping[str, Any]) -> Creating | None:
    """What the create of a checkpoint's resource makes (None: nothing recovery looks for)."""
    kind, inputs = _type(resource), resource.get("inputs") or {}
    if kind in KEY_KINDS:
        account = _input(inputs, "service_account_id", "serviceAccountId")
        return Creating(KEY_KINDS[kind], account) if account else None
    if kind in NAMED:
        name = _input(inputs, "email", "email").lower() if kind == "User" \
            else _input(inputs, "name", "name")
        vault = _input(inputs, "vault_id", "vaultId") if kind in PER_VAULT else ""
        return Creating(kind, vault, name) if name and (vault or kind not in PER_VAULT) \
            else None
    return None


def pending_creates(deployment: Mapping[str, Any]) -> Counter[Creating]:
    found: Counter[Creating] = Counter()
    for op in deployment.get("pending_operations") or []:
        if str(op.get("type") or "") == "creating":
            c = creating(op.get("resource") or {})
            if c is not None:
                found[c] += 1
    return found


def _plain(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def held_ids(resources: Iterable[Mapping[str, Any]]) -> set[str]:
    """Every resource id and key id a checkpoint's resources hold (ciphertexts are skipped)."""
    held: set[str] = set()
    for r in resources:
        if _plain(r.get("id")):
            held.add(str(r["id"]))
        outs = r.get("outputs") or {}
        held.update(v for k in KEY_ID_OUTPUTS if (v := _plain(outs.get(k))))
        for name in KNOWN_KEY_LISTS:
            if isinstance(outs.get(name), list):
                held.update(str(k) for k in outs[name] if k)
    return held


def _cli_env() -> dict[str, str]:
    """This process's environment without what points at the (possibly dead) engine: the CLI
    would spend seconds sending its telemetry to the engine's OTLP endpoint (5 s measured)."""
    return {k: v for k, v in os.environ.items() if "OTLP" not in k and "TRACING" not in k}


def export_state(cli: str, stack: list[str]) -> dict[str, Any] | None:
    """The stack's last checkpoint (secrets stay encrypted), or None when it cannot be read.

    When ``pulumi stack export`` fails on a local file backend, the checkpoint file itself is
    read (``read_file_backend``): a SIGKILLed CLI can leave the backend's metadata sidecar
    empty, and then every command fails although the checkpoint is whole.
    """
    try:
        out = subprocess.run([cli, "stack", "export", *stack],  # noqa: S603
                             capture_output=True, timeout=EXPORT_TIMEOUT_S, check=False,
                             env=_cli_env())
        data = json.loads(out.stdout) if out.returncode == 0 else None
    except (OSError, ValueError, subprocess.SubprocessError):
        data = None
    if data is None:
        return read_file_backend(stack)
    deployment = data.get("deployment") if isinstance(data, dict) else None
    return deployment if isinstance(deployment, dict) else None


def checkpoint_files(stack: list[str], env: Mapping[str, str] | None = None) -> list[Path]:
    """Where a ``file://`` backend keeps the stack's checkpoint (project-scoped layout first,
    then the legacy one); empty for other backends or when the stack is not named.

    Only the stack the CLI was given (``--stack``, else ``PULUMI_STACK``) and the project the
    engine runs (``PULUMI_PROJECT``, or the stack's own ``org/project/stack``) are used: a
    guess could read another project's stack of the same name.
    """
    env = os.environ if env is None else env
    url = env.get("PULUMI_BACKEND_URL", "")
    if not url.startswith("file://"):
        return []
    location = url[len("file://"):].split("?", 1)[0]
    root = Path(location).expanduser() if location.startswith("~") else Path(location)
    parts = lifeline.stack_ref(stack, env).split("/")
    name, qualified = parts[-1], len(parts) == 3
    project = parts[1] if qualified else env.get("PULUMI_PROJECT", "")
    if not name:
        return []
    stacks = root / ".pulumi" / "stacks"
    dirs = ([stacks / project] if project else []) + ([] if qualified else [stacks])
    files = (d / f"{name}{ext}" for d in dirs for ext in (".json", ".json.gz"))
    return [f for f in files if f.is_file()]


def read_file_backend(stack: list[str], env: Mapping[str, str] | None = None
                      ) -> dict[str, Any] | None:
    """The stack's last checkpoint read from a local file backend's own file (read-only; the
    backend writes it to a temporary file and renames it, so it is always whole)."""
    for path in checkpoint_files(stack, env):
        try:
            raw = path.read_bytes()
            data = json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)
        except (OSError, ValueError, EOFError, gzip.BadGzipFile):
            continue
        checkpoint = data.get("checkpoint") if isinstance(data, dict) else None
        latest = checkpoint.get("latest") if isinstance(checkpoint, dict) else None
        if isinstance(latest, dict):
            return latest
    return None


class Checkpoint:
    """Per process: the killed runs' pending creates and the ids the state holds."""

    def __init__(self, read_back: ReadBack,
                 export: Callable[[str, list[str]], dict[str, Any] | None] | None = None
                 ) -> None:
        self._read_back = read_back
        self._export = export
        self._gate = threading.Lock()
        self._lock = threading.Lock()
        self._arrived: Counter[Creating] = Counter()
        self._killed: Counter[Creating] | None = None
        self._held: set[str] = set()
        self.readable = False

    def ensure(self) -> bool:
        """Read the checkpoint once (every caller waits for the first); whether it was read."""
        if self._killed is not None:
            return self.readable
        with self._gate:
            if self._killed is None:
                how = self._read_back()
                export = self._export or export_state
                deployment = export(*how) if how is not None else None
                with self._lock:
                    if deployment is not None:
                        self._held = held_ids(deployment.get("resources") or [])
                        self._killed = pending_creates(deployment) - self._arrived
                        self.readable = True
                    else:
                        self._killed = Counter()
        return self.readable

    def arrive(self, c: Creating) -> None:
        """At the entry of every create: this run's own pending creates, if the checkpoint is
        read later, are told apart from a killed run's by these counts."""
        with self._lock:
            if self._killed is None:
                self._arrived[c] += 1

    def killed(self, c: Creating) -> bool:
        """Did a killed run leave a pending create of ``c``? (reads the checkpoint if needed)"""
        self.ensure()
        with self._lock:
            return bool(self._killed and self._killed[c] > 0)

    def killed_on_account(self, kind: str, account: str) -> bool:
        return self.killed(Creating(kind, account))

    def held(self) -> set[str]:
        self.ensure()
        with self._lock:
            return set(self._held)


#: the process's own (providers are per process; so is what a killed run left)
CHECKPOINT = Checkpoint(lifeline.read_back)


__all__ = ["CHECKPOINT", "Checkpoint", "Creating", "creating", "export_state", "held_ids",
           "pending_creates"]
