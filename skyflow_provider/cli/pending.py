"""Find, and optionally delete, what a killed ``pulumi up`` left in Skyflow outside the state.

Why: when the CLI dies mid-run, Pulumi records the creates it was waiting for as *pending
operations*, without ids. The objects may exist in Skyflow all the same: accounts, roles and
policies nobody manages, and, worst, keys and API keys nobody holds. The provider heals by itself
on the next ``up`` what Skyflow's audit log proves a run of this stack made (docs/reliability.md,
"A killed pulumi up heals itself"); this tool is for what that automatic path leaves to a human
(adoption turned off, no audit permission or no tag in the provider's token, leftovers made under
another tag)::

    pulumi cancel --yes                              # file/S3 backends: the dead run's lock
    pulumi stack export > before.json
    python -m skyflow_provider.pending before.json   # what Skyflow holds for the pending creates
    python -m skyflow_provider.pending before.json --delete            # the proved ones
    python -m skyflow_provider.pending before.json --delete-unproved   # ...and the rest
    pulumi refresh --clear-pending-creates --yes
    pulumi up
    python -m skyflow_provider.pending --delete-key <account id>/<key id>   # one key, by id

It reads the provider settings from the environment (``SKYFLOW_*``, as the provider does; the
stack's tag from ``SKYFLOW_OWNER_TAG``, else ``pulumi:<project>/<stack>`` of the export's URNs).
Only objects named by a pending create (or keys of an account named by one) that the exported
state does not hold are reported, each marked *made by this stack* (a token with its tag created
it: the audit log says so) or *not proved*; assignments need nothing (the next ``up`` re-applies
them). ``--delete`` deletes the first kind only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skyflow_provider.api import audit
from skyflow_provider.http.errors import NotFoundError, SkyflowError
from skyflow_provider.recovery.checkpoint import held_ids
from skyflow_provider.recovery.owner import parse_urn, tag

TYPE_PREFIX = "pulumi-python:dynamic/skyflow:"


@dataclass(frozen=True)
class Orphan:
    """An object in Skyflow that a pending create may have made and the state does not hold."""

    kind: str  # service account | role | policy | key | API key
    id: str
    parent: str  # the service account of a key, else ""
    name: str
    urn: str
    #: a token with this stack's tag created it (None: not asked)
    proved: bool | None = None

    def describe(self) -> str:
        where = f" of service account {self.parent}" if self.parent else ""
        proof = {True: "made by this stack", False: "not proved this stack's",
                 None: "not checked"}[self.proved]
        return (f"{self.kind} {self.id}{where} ({self.name!r}) for pending create {self.urn}: "
                f"{proof}")


def pending_creates(deployment: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The ``creating`` pending operations of an exported deployment (its ``deployment``)."""
    return [op.get("resource") or {} for op in deployment.get("pending_operations") or []
            if op.get("type") == "creating"]


def stack_tag(deployment: Mapping[str, Any]) -> str | None:
    """``pulumi:<project>/<stack>`` of the export's resources (the provider's default tag)."""
    for res in [*(deployment.get("resources") or []), *pending_creates(deployment)]:
        parsed = parse_urn(str(res.get("urn") or ""))
        if parsed is not None:
            return tag(*parsed)
    return None


def with_proof(client: Any, orphans: list[Orphan], owner_tag: str | None
               ) -> tuple[list[Orphan], str]:
    """Each orphan marked proved or not; why nothing could be proved ("" when it could)."""
    if not orphans:
        return orphans, ""
    if not owner_tag:
        return orphans, "no tag for this stack (set SKYFLOW_OWNER_TAG)"
    who = audit.Who(ctx=owner_tag)
    proved: set[str] = set()
    try:
        for kind, collection in (("service account", audit.SERVICE_ACCOUNTS),
                                 ("role", audit.ROLES), ("policy", audit.POLICIES)):
            ids = [o.id for o in orphans if o.kind == kind]
            proved |= audit.created(client, collection, ids, who) if ids else set()
        for parent, api_keys in {(o.parent, o.kind == "API key") for o in orphans if o.parent}:
            proved |= audit.keys_created(client, parent, who, api_keys)
    except audit.ProofUnavailable as why:
        return orphans, str(why)
    return [dataclasses.replace(o, proved=o.id in proved) for o in orphans], ""


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


def delete_key(client: Any, ref: str) -> str:
    """Delete the key or API key ``<account id>/<key id>`` (whichever it is); what was done."""
    sa_id, _, key_id = ref.partition("/")
    if not sa_id or not key_id:
        raise ValueError(f"--delete-key {ref!r}: write it as <account id>/<key id>")
    for kind, fn in (("key", client.delete_key), ("API key", client.delete_api_key)):
        try:
            fn(sa_id, key_id)
            return f"deleted {kind} {key_id} of service account {sa_id}"
        except NotFoundError:
            continue
    return f"no key or API key {key_id} of service account {sa_id}: nothing to delete"


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
    parser.add_argument("export", nargs="?",
                        help="`pulumi stack export` output file, or - for stdin")
    parser.add_argument("--delete", action="store_true",
                        help="delete what the audit log proves a run of this stack made")
    parser.add_argument("--delete-unproved", action="store_true",
                        help="also delete what it cannot prove (you checked: it is a leftover)")
    parser.add_argument("--delete-key", action="append", default=[], metavar="ACCOUNT/KEY",
                        help="delete this key or API key (repeatable; no export needed)")
    parser.add_argument("--owner-tag", default=None,
                        help="the stack's tag (default SKYFLOW_OWNER_TAG, else "
                             "pulumi:<project>/<stack> of the export)")
    args = parser.parse_args(argv)
    if args.export is None:
        if not args.delete_key:
            parser.error("give an export, or --delete-key")
        return _delete_keys(args.delete_key)
    text = sys.stdin.read() if args.export == "-" else Path(args.export).read_text()
    try:
        data = json.loads(text)
    except ValueError:
        print(f"{args.export}: not a `pulumi stack export` JSON document", file=sys.stderr)
        return 2
    deployment = data.get("deployment", data) if isinstance(data, dict) else {}
    import os

    from skyflow_provider.api.client import ManagementClient
    from skyflow_provider.api.settings import settings_from_config

    owner_tag = args.owner_tag or os.environ.get("SKYFLOW_OWNER_TAG") or stack_tag(deployment)
    try:
        settings = settings_from_config(lambda _key: None)
        keyless = settings.auth_mode == "oidc"
        client = (ManagementClient(settings, owner_tag=owner_tag) if keyless
                  else ManagementClient(settings))
        if keyless and not args.owner_tag:
            # keyless: the stack's runs are recorded under the ctx Skyflow's STS gives a token
            # asked for with the stack's tag as audience, as this one is (recovery/owner.py)
            owner_tag = client.owner_tag
        orphans, unproved_why = with_proof(client, find_orphans(client, deployment), owner_tag)
        if unproved_why and not owner_tag and keyless:
            unproved_why = client.owner_tag_problem
        print(f"{len(pending_creates(deployment))} pending create(s); {len(orphans)} object(s) "
              f"in Skyflow outside the state (stack tag {owner_tag})")
        if unproved_why:
            print(f"nothing could be proved this stack's: {unproved_why}")
        for orphan in orphans:
            doomed = (args.delete and orphan.proved) or args.delete_unproved
            print(("deleting " if doomed else "") + orphan.describe())
            if doomed:
                delete(client, orphan)
        for ref in args.delete_key:
            print(delete_key(client, ref))
    except (SkyflowError, ValueError) as err:  # already redacted and actionable
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def _delete_keys(refs: list[str]) -> int:
    from skyflow_provider.api.client import ManagementClient
    from skyflow_provider.api.settings import settings_from_config

    try:
        client = ManagementClient(settings_from_config(lambda _key: None))
        for ref in refs:
            print(delete_key(client, ref))
    except (SkyflowError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
