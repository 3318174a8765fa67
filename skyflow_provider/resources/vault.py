"""``Vault``: a vault from a typed schema (or a template) in a workspace, guarded against loss.

Why the guards: deleting a vault deletes its data. ``deletion_protection`` (on by default)
refuses, at preview, a replacement (``diff``) and, in the Python resource, any delete (the class
sets Pulumi's ``protect`` option from it, which the engine enforces before calling any
provider: destroy, removal from the program, a renamed resource, ``pulumi state delete``).
The provider's ``delete`` refuses too, so a stack on the provider plugin (whose programs set
their own options) or a state unprotected by hand still cannot delete a protected vault. A
schema change that removes a table or column, or retypes one, is refused at preview (``check``,
against the old inputs) and again at ``update`` (against what Skyflow holds) unless
``allow_destructive_schema_changes`` is set. docs/resources.md ("Vault") lists what each action
does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    ReadResult,
    Resource,
    UpdateResult,
)

from ..api import idempotency, vault_creates
from ..api.idempotency import Named
from . import checks as v
from . import vault_schema as vs
from .args import VaultArgs, VaultColumnArgs, VaultSchemaArgs, VaultTableArgs
from .base import SkyflowProvider, SkyflowProviderError, carry, declare, same_value, strip_provider
from .declarations import VAULT
from .outputs import VaultOutputs
from .recovered import NamedRecovery
from .workspace import by_id, cluster_id_of, lookup

#: Skyflow's docs: vault names have no spaces or underscores.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
NAME_HINT = "use letters, digits and '-' (Skyflow allows no spaces or underscores in vault names)"
PROTECTED_FIX = ("set deletion_protection=false and run `pulumi up` first (that only changes "
                 "the flag), then run this again")


def _protected(props: Mapping[str, Any]) -> bool:
    """On unless the state says false (older or partial state counts as protected)."""
    return props.get("deletion_protection") is not False


def _manages_schema(props: Mapping[str, Any]) -> bool:
    """A vault made from a template without a schema leaves its tables to Studio."""
    return props.get("schema") is not None or not props.get("template_id")


class VaultProvider(NamedRecovery, SkyflowProvider):
    """CRUD for /v1/vaults."""

    spec = VAULT
    recovery_kind, recovery_what = "Vault", "vault"

    def recovery_listing(self, client: Any, props: Mapping[str, Any]) -> Named:
        """Named in its workspace (resolved only when the listing runs)."""
        name = str(props.get("name"))
        return lambda: vault_creates.vault_listing(
            client, str(self._workspace(props.get("workspace_id"))["ID"]), name)()

    # ----- check / diff --------------------------------------------------------------------------
    def apply_defaults(self, news: dict[str, Any]) -> dict[str, Any]:
        out = super().apply_defaults(news)
        if out.get("schema") is not None:
            out["schema"] = vs.normalise(out["schema"])
        return out

    def validate(self, news: dict[str, Any]) -> list[CheckFailure]:
        f = v.check_unknown_keys(news, self.input_keys)
        f += v.check_name("name", news.get("name"), pattern=NAME_RE, pattern_hint=NAME_HINT)
        f += v.check_string("description", news.get("description"), max_len=v.MAX_DESCRIPTION,
                            single_line=False)
        for key in ("workspace_id", "template_id", "adopt_id"):
            f += v.check_id(key, news.get(key), required=False)
        f += v.check_bool("deletion_protection", news.get("deletion_protection"))
        f += v.check_bool("allow_destructive_schema_changes",
                          news.get("allow_destructive_schema_changes"))
        schema, template = news.get("schema"), news.get("template_id")
        if schema is not None and template:
            f.append(CheckFailure("template_id", "give schema or template_id, not both (Skyflow "
                                  "creates a vault from one of them)"))
        elif schema is None and not template:
            f.append(CheckFailure("schema", "schema is required: the vault's tables and columns "
                                  "(VaultSchemaArgs), or a template_id to start from"))
        f += vs.validate(schema)
        return f

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Inputs valid, and no table or column the vault holds is dropped or retyped unless
        allow_destructive_schema_changes (compared with the old inputs: no API call)."""
        result = super().check(olds, news)
        inputs = result.inputs or {}
        old_schema = strip_provider(olds or {}).get("schema")
        if result.failures or not old_schema or inputs.get("allow_destructive_schema_changes"):
            return result
        lost = vs.destructive_changes(vs.normalise(old_schema), inputs.get("schema"))
        return CheckResult(inputs, [CheckFailure(path, why) for path, why in lost])

    def changed_keys(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        changed = super().changed_keys(olds, news)
        # Left out, workspace_id means "the account's only workspace": the one it is in.
        if news.get("workspace_id") is None and "workspace_id" in changed:
            changed.remove("workspace_id")
        if not _manages_schema(news) and "schema" in changed:
            changed.remove("schema")
        return changed

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        result = super().diff(id_, olds, news)
        if result.replaces and _protected(olds):
            raise SkyflowProviderError(
                f"Vault {olds.get('name')!r} ({id_}): changing {', '.join(result.replaces)} "
                "replaces the vault, and replacing deletes the old vault with all its data. "
                f"deletion_protection is on: revert the change, or {PROTECTED_FIX}")
        return result

    # ----- Skyflow -------------------------------------------------------------------------------
    def _remote(self, vault_id: str) -> tuple[dict[str, Any] | None, str]:
        """(vault, workspace id), or (None, "") when it is gone."""
        got = self.call(f"read vault {vault_id}", self.client.get_vault, vault_id,
                        missing_ok=True)
        vault = (got or {}).get("vault")
        if not vault or vault.get("status") == "DELETED":
            return None, ""
        return dict(vault), str((got or {}).get("workspaceID") or "")

    def _workspace(self, workspace_id: str | None) -> Mapping[str, Any]:
        return self.call("look up the workspace", lookup, self.client, workspace_id)

    def _workspace_by_id(self, workspace_id: str) -> Mapping[str, Any]:
        if not workspace_id:
            return {}
        return self.call(f"read workspace {workspace_id}", by_id, self.client, workspace_id)

    @staticmethod
    def _computed(vault: Mapping[str, Any], ws: Mapping[str, Any]) -> dict[str, Any]:
        url = str(ws.get("url") or "")
        return {"vault_url": url, "cluster_id": cluster_id_of(url),
                "namespace": str(vault.get("namespace") or ""),
                "status": str(vault.get("status") or "ACTIVE")}

    def _body(self, props: Mapping[str, Any], held: Mapping[str, Any] | None = None
              ) -> dict[str, Any]:
        """Create or update body; ``held`` (the vault as Skyflow has it) gives the ids of the
        tables and columns that stay."""
        body: dict[str, Any] = {"name": props["name"], "description": props["description"]}
        if props.get("schema") is not None:
            body["vaultSchema"] = vs.to_api(props["schema"], (held or {}).get("schemas"))
        return body

    def _refuse_data_loss(self, vault_id: str, vault: Mapping[str, Any],
                          props: Mapping[str, Any]) -> None:
        """What Skyflow holds vs. the declared schema: no silent drop or retype."""
        if props.get("schema") is None or props.get("allow_destructive_schema_changes"):
            return
        held = vs.from_api(vault.get("schemas"), vault.get("tags"), props["schema"])
        lost = vs.destructive_changes(held, props["schema"])
        if lost:
            raise SkyflowProviderError(
                f"Vault {vault_id}: the declared schema would lose data Skyflow holds: "
                + "; ".join(why for _path, why in lost))

    def _adopt(self, props: dict[str, Any], vault_id: str) -> CreateResult:
        """Take over an existing vault: its name, description and schema become the declared
        ones (never losing a table or column without allow_destructive_schema_changes)."""
        vault, ws_id = self._remote(vault_id)
        if vault is None:
            raise SkyflowProviderError(f"adopt_id {vault_id}: Skyflow has no such vault; check "
                                       "the id or remove adopt_id to create a new vault")
        if props.get("workspace_id") and ws_id and props["workspace_id"] != ws_id:
            raise SkyflowProviderError(f"adopt_id {vault_id}: the vault is in workspace {ws_id}, "
                                       f"not workspace_id {props['workspace_id']}")
        self._refuse_data_loss(vault_id, vault, props)
        self.call(f"update vault {vault_id}", self.client.update_vault, vault_id,
                  self._body(props, vault))
        outs = {k: props.get(k) for k in self.input_keys}
        outs["workspace_id"] = ws_id or props.get("workspace_id")
        outs.update(self._computed(vault, self._workspace_by_id(ws_id)))
        return CreateResult(vault_id, outs)

    def create(self, props: dict[str, Any]) -> CreateResult:
        props = self.apply_defaults(props)
        if props.get("adopt_id"):
            return self._adopt(props, str(props["adopt_id"]))
        ws = self._workspace(props.get("workspace_id"))
        ws_id = str(ws.get("ID"))
        what = f"create vault {props['name']!r}"
        orphan = self.leftover({**props, "workspace_id": ws_id}, what)
        if orphan is not None:  # left by a killed run: take it over
            return self._adopt({**props, "workspace_id": ws_id}, str(orphan["ID"]))
        body = self._body(props)
        body["workspaceID"] = ws_id
        if props.get("template_id") and props.get("schema") is None:
            body["templateID"] = props["template_id"]
        resp = self.create_unique(what, {**props, "workspace_id": ws_id},
                                  vault_creates.create_vault, self.client, body)
        vault_id = str(resp.get("ID") or "")
        if not vault_id:
            raise SkyflowProviderError("Skyflow: create vault returned no ID")
        # One GET for what the create response lacks (namespace, status). A vault is a few per
        # stack, not thousands; the new vault is empty, so undoing it loses nothing.
        with self.undo_on_failure(lambda: self.client.delete_vault(vault_id), made=vault_id):
            vault, _ = self._remote(vault_id)
            if vault is None:
                raise SkyflowProviderError(f"Skyflow: vault {vault_id} is gone right after "
                                           "its creation")
        outs = {k: props.get(k) for k in self.input_keys}
        outs["workspace_id"] = ws_id
        outs.update(self._computed(vault, ws))
        return CreateResult(vault_id, outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        vault, ws_id = self._remote(id_)
        if vault is None:
            return ReadResult(None, {})
        imported = not props
        outs = {k: props.get(k) for k in VAULT.state_keys}
        if imported:  # `pulumi import`: only the id is known; flags take their defaults
            outs.update(VAULT.defaults())
        ws_id = ws_id or str(props.get("workspace_id") or "")
        outs.update(name=vault.get("name", props.get("name")),
                    description=vault.get("description") or "", workspace_id=ws_id or None)
        if _manages_schema(outs):
            outs["schema"] = vs.from_api(vault.get("schemas"), vault.get("tags"),
                                         None if imported else props.get("schema"))
        outs.update(self._computed(vault, self._workspace_by_id(ws_id)))
        return ReadResult(id_, outs, {k: outs.get(k) for k in self.input_keys})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        news = self.apply_defaults(news)
        if news.get("workspace_id") is None:
            news["workspace_id"] = olds.get("workspace_id")
        outs = carry(olds, self.output_keys)
        managed = _manages_schema(news)
        sent = ("name", "description") + (("schema",) if managed else ())
        if any(not same_value(olds.get(k), news.get(k)) for k in sent):
            held: dict[str, Any] | None = None
            if managed:  # one GET: what Skyflow holds (no silent loss; the ids that stay)
                held, _ = self._remote(id_)
                if held is None:
                    raise SkyflowProviderError(f"Skyflow: vault {id_} no longer exists; run "
                                               "`pulumi refresh`")
                self._refuse_data_loss(id_, held, news)
            body = self._body(news if managed else {**news, "schema": None}, held)
            self.call(f"update vault {id_}", self.client.update_vault, id_, body)
        outs.update({k: news.get(k) for k in self.input_keys})
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        if _protected(props):
            raise SkyflowProviderError(
                f"Vault {props.get('name')!r} ({id_}) has deletion_protection on: deleting it "
                f"deletes all its data. To delete it, {PROTECTED_FIX}")
        if idempotency.adopted_this_run(self.client, id_):  # held by whoever took it over
            return
        self.call(f"delete vault {id_}", self.client.delete_vault, id_, missing_ok=True)


class Vault(VaultOutputs, Resource, module="skyflow", name="Vault"):
    """A Skyflow vault with its schema; ``deletion_protection`` (default on) also sets Pulumi's
    ``protect`` option, so no delete of it reaches a provider while it is on."""

    def __init__(
        self,
        resource_name: str,
        args: VaultArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props, opts = declare(VAULT, args, kwargs, VaultArgs, opts)
        protection = props.get("deletion_protection")
        if protection is None:
            protection = True
        if not isinstance(protection, bool):
            raise TypeError("Vault: deletion_protection must be a plain True or False (it sets "
                            "Pulumi's protect option, which cannot wait for an Output)")
        if protection:
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=True))
        super().__init__(VaultProvider(), resource_name, props, opts)


__all__ = ["Vault", "VaultArgs", "VaultColumnArgs", "VaultProvider", "VaultSchemaArgs",
           "VaultTableArgs"]
