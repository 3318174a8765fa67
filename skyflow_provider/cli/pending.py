"""Find, and optionally delete, what a killed ``pulumi up`` left in Skyflow outside the state.

Why: when the CLI dies mid-run, Pulumi records the creates it was waiting for as *pending
operations*, without ids. The objects may exist in Skyflow all the same: accounts, roles and
policies nobody manages, and, worst, keys and API keys nobody holds. The provider heals most of
this by itself on the next ``up`` (docs/reliability.md, issue 16); this tool is for what that
automatic path refuses (adoption turned off, provider credentials without a known identity,
leftovers of this stack created under another identity), for a human to confirm::

    pulumi cancel --yes                              # file/S3 backends: the dead run's lock
    pulumi stack export > before.json
    python -m skyflow_provider.pending before.json   # what Skyflow holds for the pending creates
    python -m skyflow_provider.pending before.json --delete
    pulumi refresh --clear-pending-creates --yes
    pulumi up

It reads the provider settings from the environment (``SKYFLOW_*``, as the provider does).
Only objects named by a pending create (or keys of an account named by one) that the exported
state does not hold are reported; assignments need nothing (the next ``up`` re-applies them).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skyflow_provider.http.errors import NotFoundError, SkyflowError
from skyflow_provider.recovery.ledger import held_ids

TYPE_PREFIX = "pulumi-python:dynamic/skyflow:"


@dataclass(frozen=True)
class Orphan:
    """An object in Skyflow that a pending create may have made and the state does not hold."""

    kind: str  # service account | role | policy | key | API key
    id: str
    parent: str  # the service account of a key, else ""
    name: str
    urn: str

    def describe(self) -> str:
        where = f" of service account {self.parent}" if self.parent else ""
        return f"{self.kind} {self.id}{where} ({self.name!r}) for pending create {self.urn}"


def pending_creates(deployment: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The ``creating`` pending operations of an exported deployment (its ``deployment``)."""
    return [op.get("resource") or {} for op in deployment.get("pending_operations") or []
            if op.get("type") == "creating"]


def find_orphans(client: Any, deployment: Mapping[str, Any]) -> list[Orphan]:
    """Objects in Skyflow for the deployment's pending creates that its resources do not hold."""
    known = held_ids(deployment.get("resources") or [])
    found: list[Orphan] = []
    for res in pending_creates(deployment):
        kind = str(res.get("type") or "").removeprefix(TYPE_PREFIX)
        inputs = res.get("inputs") or {}
        urn = str(res.get("urn") or "")
        name = inputs.get("name") if isinstance(inputs.get("name"), str) else ""
        try:
            found += _orphans_of(client, kind, inputs, str(name or ""), urn, known)
        except NotFoundError:
            continue  # the parent (vault, account) is gone: nothing of ours can be left
    return found


def _orphans_of(client: Any, kind: str, inputs: Mapping[str, Any], name: str, urn: str,
                known: set[str]) -> list[Orphan]:
    vault = str(inputs.get("vault_id") or "")
    if kind == "ServiceAccount" and name:
        items = [i.get("serviceAccount") or i for i in client.list_service_accounts(name=name)]
        return [Orphan("service account", str(s["ID"]), "", name, urn) for s in items
                if s.get("name") == name and str(s.get("ID")) not in known]
    if kind == "Role" and name and vault:
        return [Orphan("role", str(r["ID"]), "", name, urn)
                for r in client.list_roles(vault, resource_type="VAULT", name=name)
                if (r.get("definition") or {}).get("name") == name and str(r["ID"]) not in known]
    if kind == "Policy" and name and vault:
        return [Orphan("policy", str(p["ID"]), "", name, urn)
                for p in client.list_policies(vault, resource_type="VAULT", name=name)
                if p.get("name") == name and str(p["ID"]) not in known]
    sa_id = str(inputs.get("service_account_id") or "")
    if kind == "ServiceAccountKey" and sa_id:
        return [Orphan("key", str(k["keyID"]), sa_id, "", urn) for k in client.list_keys(sa_id)
                if str(k.get("keyID")) not in known]
    if kind == "ApiKey" and sa_id:
        return [Orphan("API key", str(k["keyID"]), sa_id, "", urn)
                for k in client.list_api_keys(sa_id) if str(k.get("keyID")) not in known]
    return []


def delete(client: Any, orphan: Orphan) -> None:
    """Delete one orphan (a 404 means it is already gone)."""
    calls = {
        "service account": lambda: client.delete_service_account(orphan.id),
        "role": lambda: client.delete_role(orphan.id),
        "policy": lambda: client.delete_policy(orphan.id),
        "key": lambda: client.delete_key(orphan.parent, orphan.id),
        "API key": lambda: client.delete_api_key(orphan.parent, orphan.id),
    }
    try:
        calls[orphan.kind]()
    except NotFoundError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m skyflow_provider.pending",
        description="List (or delete) Skyflow objects left outside the state by a killed "
                    "`pulumi up`, from a `pulumi stack export` taken before clearing pending "
                    "creates. Settings come from SKYFLOW_* environment variables.")
    parser.add_argument("export", help="`pulumi stack export` output file, or - for stdin")
    parser.add_argument("--delete", action="store_true", help="delete what is found")
    args = parser.parse_args(argv)
    text = sys.stdin.read() if args.export == "-" else Path(args.export).read_text()
    try:
        data = json.loads(text)
    except ValueError:
        print(f"{args.export}: not a `pulumi stack export` JSON document", file=sys.stderr)
        return 2
    deployment = data.get("deployment", data) if isinstance(data, dict) else {}
    from skyflow_provider.api.client import ManagementClient
    from skyflow_provider.api.settings import settings_from_config

    try:
        client = ManagementClient(settings_from_config(lambda _key: None))
        orphans = find_orphans(client, deployment)
        print(f"{len(pending_creates(deployment))} pending create(s); {len(orphans)} object(s) "
              "in Skyflow outside the state")
        for orphan in orphans:
            print(("deleting " if args.delete else "") + orphan.describe())
            if args.delete:
                delete(client, orphan)
    except SkyflowError as err:  # already redacted and actionable
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
