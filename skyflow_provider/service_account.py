"""``ServiceAccount``: a Skyflow service account (JWT key pair or API key) as a Pulumi resource.

Why the shape: Skyflow returns the private key / API key only in the create response, so the
provider captures it once, stores it as an encrypted secret output and carries it over on every
update and refresh. Settings that Skyflow can PATCH update in place; ``name`` and ``auth_type``
cannot change, so they replace.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    UpdateResult,
)

from . import idempotency
from . import validation as v
from .provider_base import (
    SkyflowProvider,
    SkyflowProviderError,
    carry,
    merge_args,
    with_secret_outputs,
)

AUTH_TYPES = ("jwt", "api_key")
ALLOWLIST_STATUSES = ("INACTIVE", "ACTIVE_ALL", "ACTIVE_AUTH_ONLY")
CREDENTIAL_KEYS = (
    "clientID",
    "clientName",
    "tokenURI",
    "keyID",
    "privateKey",
    "keyValidAfterTime",
    "keyValidBeforeTime",
    "keyAlgorithm",
)

INPUT_KEYS = (
    "name",
    "display_name",
    "description",
    "auth_type",
    "enforce_context_id",
    "enforce_signed_data_tokens",
    "ip_allowlist",
)
OUTPUT_KEYS = (
    "client_id",
    "client_name",
    "token_uri",
    "namespace",
    "key_id",
    "private_key",
    "credentials",
    "api_key_id",
    "api_key",
)
SECRET_OUTPUTS = ("private_key", "credentials", "api_key")
GENERATED_KEYS = ("client_id", "token_uri", "key_id", "private_key", "credentials", "api_key_id",
                  "api_key")


@dataclass
class IpAllowlistArgs:
    """Where the service account may be used from."""

    status: pulumi.Input[str] = "INACTIVE"
    """INACTIVE (not enforced), ACTIVE_ALL (every call) or ACTIVE_AUTH_ONLY (token minting)."""
    cidr_blocks: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    """Up to 10 IPv4/IPv6 CIDR blocks."""


@dataclass
class ServiceAccountArgs:
    """Inputs of a ServiceAccount."""

    name: pulumi.Input[str]
    """Unique name; changing it replaces the account (Skyflow cannot rename)."""
    display_name: pulumi.Input[str] | None = None
    """Shown in Studio; defaults to ``name``. Updates in place."""
    description: pulumi.Input[str] | None = None
    """Free text (<= 1024 chars). Updates in place."""
    auth_type: pulumi.Input[str] | None = None
    """``"jwt"`` (default: key pair + credentials.json) or ``"api_key"``. Changing it replaces."""
    enforce_context_id: pulumi.Input[bool] | None = None
    """Require a ``ctx`` claim in every JWT assertion. Updates in place."""
    enforce_signed_data_tokens: pulumi.Input[bool] | None = None
    """Require data tokens signed with this account's key. Updates in place."""
    ip_allowlist: IpAllowlistArgs | Mapping[str, Any] | None = None
    """IP allowlist (status + CIDR blocks). Updates in place."""


def credentials_json(resp: Mapping[str, Any]) -> str:
    """The credentials.json text exactly as Studio downloads it (same keys, same order).

    Uses ``credentials.Credentials.to_json`` so the token library and the stack output agree
    byte for byte; falls back to the same JSON layout if the response does not validate (the
    account already exists at this point, so failing would leak it).
    """
    from .credentials import load_credentials

    data = {k: str(resp.get(k) or "") for k in CREDENTIAL_KEYS}
    try:
        return str(load_credentials(data).to_json())
    except Exception:  # noqa: BLE001 - never lose a freshly created account over formatting
        return json.dumps(data)


def _allowlist_body(allowlist: Mapping[str, Any] | None) -> dict[str, Any]:
    allowlist = allowlist or {}
    return {
        "status": allowlist.get("status") or "INACTIVE",
        "cidrBlocks": list(allowlist.get("cidr_blocks") or []),
    }


def _allowlist_from_api(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    raw = raw or {}
    return {
        "status": raw.get("status") or "INACTIVE",
        "cidr_blocks": list(raw.get("cidrBlocks") or []),
    }


class ServiceAccountProvider(SkyflowProvider):
    """CRUD for /v1/serviceAccounts."""

    input_keys = INPUT_KEYS
    output_keys = OUTPUT_KEYS
    replace_keys = ("name", "auth_type")

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """A rename creates the new account first (no credential gap); an auth-type change with
        the same name must delete first, because the name is taken until then."""
        result = super().diff(id_, olds, news)
        replaces = result.replaces or []
        result.delete_before_replace = "auth_type" in replaces and "name" not in replaces
        return result

    def apply_defaults(self, news: dict[str, Any]) -> dict[str, Any]:
        out = dict(news)
        out.setdefault("auth_type", "jwt")
        if out.get("display_name") in (None, ""):
            out["display_name"] = out.get("name")
        out.setdefault("description", "")
        out.setdefault("enforce_context_id", False)
        out.setdefault("enforce_signed_data_tokens", False)
        allowlist = out.get("ip_allowlist")
        if allowlist is None:
            out["ip_allowlist"] = {"status": "INACTIVE", "cidr_blocks": []}
        elif isinstance(allowlist, Mapping):
            filled = dict(allowlist)
            filled.setdefault("status", "INACTIVE")
            filled.setdefault("cidr_blocks", [])
            out["ip_allowlist"] = filled
        return out

    def validate(self, news: dict[str, Any]) -> list[CheckFailure]:
        f = v.check_unknown_keys(news, INPUT_KEYS)
        f += v.check_name("name", news.get("name"))
        f += v.check_string("display_name", news.get("display_name"), max_len=v.MAX_NAME)
        f += v.check_string("description", news.get("description"), max_len=v.MAX_DESCRIPTION,
                            single_line=False)
        f += v.check_enum("auth_type", news.get("auth_type"), AUTH_TYPES)
        f += v.check_bool("enforce_context_id", news.get("enforce_context_id"))
        f += v.check_bool("enforce_signed_data_tokens", news.get("enforce_signed_data_tokens"))
        if news.get("auth_type") == "api_key" and news.get("enforce_signed_data_tokens") is True:
            f.append(CheckFailure(
                "enforce_signed_data_tokens",
                "enforce_signed_data_tokens needs a private key, which api_key service accounts "
                "do not have; use auth_type 'jwt' or set it to false",
            ))
        allowlist = news.get("ip_allowlist")
        f += v.check_mapping("ip_allowlist", allowlist, ("status", "cidr_blocks"))
        if isinstance(allowlist, Mapping):
            status = allowlist.get("status")
            blocks = allowlist.get("cidr_blocks")
            f += v.check_enum("ip_allowlist.status", status, ALLOWLIST_STATUSES)
            f += v.check_cidr_blocks("ip_allowlist.cidr_blocks", blocks)
            if (
                status in ("ACTIVE_ALL", "ACTIVE_AUTH_ONLY")
                and isinstance(blocks, (list, tuple))
                and len(blocks) == 0
            ):
                f.append(CheckFailure(
                    "ip_allowlist.cidr_blocks",
                    f"ip_allowlist.status is {status} but cidr_blocks is empty, which would lock "
                    "the account out; add at least one CIDR block or use status INACTIVE",
                ))
        return f

    # ----- bodies ------------------------------------------------------------------------------
    @staticmethod
    def _bodies(props: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        sa = {
            "displayName": props.get("display_name") or props.get("name"),
            "description": props.get("description") or "",
            "ipAllowlist": _allowlist_body(props.get("ip_allowlist")),
        }
        cc = {
            "enforceContextID": bool(props.get("enforce_context_id")),
            "enforceSignedDataTokens": bool(props.get("enforce_signed_data_tokens")),
        }
        return sa, cc

    def _inputs(self, props: Mapping[str, Any]) -> dict[str, Any]:
        return {k: props.get(k) for k in INPUT_KEYS}

    # ----- CRUD --------------------------------------------------------------------------------
    def create(self, props: dict[str, Any]) -> CreateResult:
        props = self.apply_defaults(props)
        sa, cc = self._bodies(props)
        body: dict[str, Any] = {"serviceAccount": {"name": props["name"], **sa},
                                "clientConfiguration": cc}
        api_key_mode = props.get("auth_type") == "api_key"
        if api_key_mode:
            body["apiKeyEnabled"] = True
        resp = self.call(f"create service account {props['name']!r}",
                         idempotency.create_service_account, self.client, body)
        client_id = resp.get("clientID") or ""
        if not client_id:
            raise SkyflowProviderError("Skyflow: create service account returned no clientID")
        with self.undo_on_failure(lambda: self.client.delete_service_account(client_id)):
            outs = self._outputs(props, resp, client_id, api_key_mode)
        return CreateResult(client_id, outs)

    def _outputs(
        self, props: Mapping[str, Any], resp: Mapping[str, Any], client_id: str, api_key_mode: bool
    ) -> dict[str, Any]:
        """Outputs of a fresh account; raises if Skyflow returned no credential."""
        outs = self._inputs(props)
        outs.update(
            client_id=client_id,
            client_name=resp.get("clientName") or props["name"],
            token_uri=resp.get("tokenURI") or "",
            namespace=self._namespace(client_id),
            key_id=None,
            private_key=None,
            credentials=None,
            api_key_id=None,
            api_key=None,
        )
        if api_key_mode:
            outs["api_key_id"] = resp.get("apiKeyID") or ""
            outs["api_key"] = resp.get("apiKey") or ""
            if not outs["api_key"]:
                raise SkyflowProviderError(
                    f"Skyflow created service account {client_id} but returned no API key, so it "
                    "was deleted again; API-key service accounts may need to be enabled for "
                    "this account by Skyflow"
                )
        else:
            if not resp.get("privateKey"):
                raise SkyflowProviderError(
                    f"Skyflow created service account {client_id} but returned no private key, "
                    "so it was deleted again"
                )
            outs["key_id"] = resp.get("keyID") or ""
            outs["private_key"] = resp["privateKey"]
            outs["credentials"] = credentials_json(resp)
        return outs

    def _namespace(self, client_id: str) -> str:
        """Best effort: the create response lacks the namespace; a GET has it."""
        try:
            got = self.client.get_service_account(client_id)
        except Exception:  # noqa: BLE001 - never fail (and leak the account) over a label
            return ""
        return str((got.get("serviceAccount") or {}).get("namespace") or "")

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        got = self.call(f"read service account {id_}", self.client.get_service_account, id_,
                        missing_ok=True)
        if got is None:
            return ReadResult(None, {})
        sa = got.get("serviceAccount") or {}
        cc = got.get("clientConfiguration") or {}
        if sa.get("status") == "DELETED":
            return ReadResult(None, {})
        outs = dict(props)
        outs.pop("__provider", None)
        for key in OUTPUT_KEYS:
            outs.setdefault(key, None)
        outs.update(
            name=sa.get("name", props.get("name")),
            display_name=sa.get("displayName", props.get("display_name")),
            description=sa.get("description", props.get("description")) or "",
            enforce_context_id=bool(cc.get("enforceContextID", props.get("enforce_context_id"))),
            enforce_signed_data_tokens=bool(
                cc.get("enforceSignedDataTokens", props.get("enforce_signed_data_tokens"))
            ),
            ip_allowlist=_allowlist_from_api(sa.get("ipAllowlist"))
            if "ipAllowlist" in sa else props.get("ip_allowlist"),
            client_id=id_,
            client_name=sa.get("name", props.get("client_name")),
            namespace=sa.get("namespace") or props.get("namespace") or "",
        )
        # auth_type cannot be read back from Skyflow: keep what we created.
        outs["auth_type"] = props.get("auth_type") or ("api_key" if props.get("api_key") else "jwt")
        return ReadResult(id_, outs, self._inputs(outs))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        news = self.apply_defaults(news)
        sa, cc = self._bodies(news)
        resp = self.call(f"update service account {id_}", self.client.update_service_account,
                         id_, {"serviceAccount": sa, "clientConfiguration": cc})
        outs = carry(olds, OUTPUT_KEYS)
        outs.update(self._inputs(news))
        outs["client_id"] = olds.get("client_id") or id_
        if isinstance(resp, Mapping) and resp.get("namespace"):
            outs["namespace"] = resp["namespace"]
        for key in GENERATED_KEYS:
            if olds.get(key) is not None:
                outs[key] = olds[key]
        return UpdateResult(outs)

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        self.call(f"delete service account {id_}", self.client.delete_service_account, id_,
                  missing_ok=True)


class ServiceAccount(Resource, module="skyflow", name="ServiceAccount"):
    """A Skyflow service account. Generated credentials are always secret outputs."""

    name: pulumi.Output[str]
    display_name: pulumi.Output[str]
    description: pulumi.Output[str]
    auth_type: pulumi.Output[str]
    enforce_context_id: pulumi.Output[bool]
    enforce_signed_data_tokens: pulumi.Output[bool]
    ip_allowlist: pulumi.Output[dict[str, Any]]
    client_id: pulumi.Output[str]
    """= the resource id (Skyflow's clientID)."""
    client_name: pulumi.Output[str]
    token_uri: pulumi.Output[str]
    namespace: pulumi.Output[str]
    key_id: pulumi.Output[str | None]
    private_key: pulumi.Output[str | None]
    """Secret. JWT accounts only."""
    credentials: pulumi.Output[str | None]
    """Secret. credentials.json text (JWT accounts only)."""
    api_key_id: pulumi.Output[str | None]
    api_key: pulumi.Output[str | None]
    """Secret. API-key accounts only."""

    def __init__(
        self,
        resource_name: str,
        args: ServiceAccountArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props = merge_args(args, kwargs, ServiceAccountArgs)
        for key in INPUT_KEYS + OUTPUT_KEYS:  # every attribute exists as an Output
            props.setdefault(key, None)
        super().__init__(ServiceAccountProvider(), resource_name, props,
                         with_secret_outputs(opts, SECRET_OUTPUTS))


__all__ = ["IpAllowlistArgs", "ServiceAccount", "ServiceAccountArgs", "ServiceAccountProvider",
           "credentials_json"]
