"""Workspaces: ``get_workspace`` (Python programs), the plugin's ``skyflow:index:getWorkspace``
invoke, and the workspace lookup a ``Vault`` needs (its workspace's URL is the vault URL).

Why one module: the three are the same look-up (by id, by name, or the account's only
workspace) with the same error messages; the Python function runs it in the program process with
the stack's ``skyflow:`` config, the invoke and the Vault in the provider process.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import pulumi
from pulumi.dynamic import CheckFailure

from ..http.errors import NotFoundError, SkyflowError
from . import checks as v
from .base import SkyflowProviderError, describe_error, shared_client
from .declarations import WORKSPACE
from .outputs import WorkspaceResult

#: workspace documents by id, per client: a workspace's URL does not change while a provider
#: process runs, and every vault of a stack would otherwise read it again
_CACHE: weakref.WeakKeyDictionary[Any, dict[str, Mapping[str, Any]]] = \
    weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


class WorkspaceLookupError(pulumi.RunError):
    """get_workspace found no single workspace; the message says what there is instead
    (a ``RunError`` is reported as its message alone, without a traceback)."""


def cluster_id_of(url: str) -> str:
    """``https://<cluster>.vault.skyflowapis.com`` -> ``<cluster>``; "" when the URL's host is
    not of that form (the emulator's loopback URL)."""
    host = (urlsplit(url).hostname or "") if url else ""
    labels = host.split(".")
    if len(labels) >= 4 and labels[1] == "vault" and labels[2].startswith("skyflowapis"):
        return labels[0]
    return ""


def result_of(ws: Mapping[str, Any]) -> dict[str, Any]:
    """A ``v1Workspace`` as the declared result (snake names, "" for what Skyflow leaves out)."""
    url = str(ws.get("url") or "")
    return {
        "id": str(ws.get("ID") or ""), "name": str(ws.get("name") or ""),
        "display_name": str(ws.get("displayName") or ""),
        "description": str(ws.get("description") or ""), "url": url,
        "cluster_id": cluster_id_of(url), "region_id": str(ws.get("regionID") or ""),
        "type": str(ws.get("type") or ""), "status": str(ws.get("status") or ""),
        "namespace": str(ws.get("namespace") or ""),
    }


def check_args(args: Mapping[str, Any]) -> list[CheckFailure]:
    """The function's arguments: an id and/or a name (no API call)."""
    f = v.check_unknown_keys(dict(args), WORKSPACE.input_keys)
    f += v.check_id("id", args.get("id"), required=False)
    f += v.check_string("name", args.get("name"), allow_empty=False)
    return f


def _remember(client: Any, ws: Mapping[str, Any]) -> Mapping[str, Any]:
    with _LOCK:
        _CACHE.setdefault(client, {})[str(ws.get("ID"))] = ws
    return ws


def by_id(client: Any, workspace_id: str) -> Mapping[str, Any]:
    """The workspace ``workspace_id`` (read once per process)."""
    with _LOCK:
        cached = _CACHE.get(client, {}).get(workspace_id)
    if cached is not None:
        return cached
    try:
        got = client.get_workspace(workspace_id)
    except NotFoundError:
        raise SkyflowProviderError(f"Skyflow: workspace {workspace_id} not found; list the "
                                   "account's workspaces with get_workspace()") from None
    return _remember(client, got.get("workspace") or {})


def lookup(client: Any, workspace_id: str | None = None, name: str | None = None
           ) -> Mapping[str, Any]:
    """The one workspace with this id and/or name; with neither, the account's only one.

    Raises ``SkyflowProviderError`` naming what exists when there is not exactly one.
    """
    if workspace_id:
        ws = by_id(client, workspace_id)
        if name and ws.get("name") != name:
            raise SkyflowProviderError(f"Skyflow: workspace {workspace_id} is named "
                                       f"{ws.get('name')!r}, not {name!r}")
        return ws
    found = [w for w in client.list_workspaces(name=name) if not name or w.get("name") == name]
    if len(found) == 1:
        return _remember(client, found[0])
    if name:
        what = f"no workspace named {name!r}" if not found else \
            f"{len(found)} workspaces named {name!r}"
    else:
        what = "no workspace" if not found else f"{len(found)} workspaces"
    known = ", ".join(f"{w.get('name')} ({w.get('ID')})" for w in (
        found or client.list_workspaces())) or "none"
    raise SkyflowProviderError(f"Skyflow: the account has {what}; give the workspace's id "
                               f"(workspaces: {known})")


def _program_client() -> Any:
    """A client from the stack's ``skyflow:`` config (env fallback), as the provider builds its
    own: the same settings, in the program process."""
    from ..api.settings import settings_from_config

    config = pulumi.Config("skyflow")
    try:
        settings = settings_from_config(lambda key: config.get(key.split(":", 1)[1]))
    except SkyflowError as err:
        raise WorkspaceLookupError(f"get_workspace: {describe_error(err, 'configure')}") \
            from None
    return shared_client(settings)


def get_workspace(name: str | None = None, id: str | None = None) -> WorkspaceResult:
    """A workspace of the account by ``name`` or ``id`` (with neither, the account's only one):
    its ``url`` (the vault URL of Skyflow's SDKs), ``cluster_id``, region and status.

    Runs in the program (at preview too, like any data source) with the stack's ``skyflow:``
    config; creates nothing. Programs on the provider plugin call ``skyflow:index:getWorkspace``.
    """
    failures = check_args({"id": id, "name": name})
    if failures:
        raise WorkspaceLookupError("get_workspace: " + "; ".join(f.reason for f in failures))
    client = _program_client()
    try:
        ws = lookup(client, id, name)
    except SkyflowProviderError as err:
        raise WorkspaceLookupError(f"get_workspace: {err}") from None
    except SkyflowError as err:
        raise WorkspaceLookupError(f"get_workspace: {describe_error(err, 'look up')}") from None
    return WorkspaceResult(**result_of(ws))


__all__ = ["WorkspaceLookupError", "WorkspaceResult", "cluster_id_of", "get_workspace",
           "lookup", "result_of"]
