"""``StsConfig``: Skyflow's STS configuration (``/v1/sts/config``), the trust of one OIDC issuer.

Why the checks at preview: Skyflow's STS config has no audience and no subject restriction. A
config trusting ``https://token.actions.githubusercontent.com`` alone lets *every* repository on
GitHub exchange its token for the listed accounts' tokens. The only control left is context-
aware authorization: the identifying claims copied into the token's ``ctx`` (``context_claims``)
and required by the role assignments' ``condition``. So a config trusting an issuer shared by
many tenants is refused unless ``context_claims`` carries the claims that tell them apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import pulumi
from pulumi.dynamic import CheckFailure, CreateResult, ReadResult, Resource, UpdateResult

from ..api import audit, idempotency
from ..auth.credentials import check_url
from ..http.errors import SkyflowError
from . import checks as v
from .args import StsConfigArgs
from .base import (
    SkyflowProvider,
    SkyflowProviderError,
    contains_unknown,
    declare,
    is_unknown,
    raise_clean,
)
from .declarations import STS_CONFIG
from .outputs import StsConfigOutputs
from .recovered import NamedRecovery

#: Issuers shared by many tenants (prefix match), the claims any one of which tells a tenant
#: apart, and who the tenants are. ``skyflow:sharedIssuers`` adds more (``sub`` required).
SHARED_ISSUERS: dict[str, tuple[tuple[str, ...], str]] = {
    "https://token.actions.githubusercontent.com": (
        ("repository", "repository_id", "sub"), "every GitHub Actions repository"),
    "https://gitlab.com": (("project_path", "project_id", "sub"), "every GitLab.com project"),
    "https://api.bitbucket.org/": (("repositoryUuid", "sub"),
                                   "every Bitbucket Pipelines repository of the workspace"),
    "https://oidc.circleci.com/": (("sub",), "every CircleCI project of the organization"),
    "https://app.terraform.io": (("terraform_workspace_id", "sub"),
                                 "every Terraform Cloud workspace"),
}
SHARED_ISSUERS_ENV = "SKYFLOW_SHARED_ISSUERS"
CLAIM_HINT = "claim names: letters, digits and '_' (Skyflow's ctx keys)"


def shared_issuer(issuer: str, extra: str | None) -> tuple[tuple[str, ...], str] | None:
    """The tenant claims and the tenants of a shared issuer, or None for a private one."""
    issuer = issuer.rstrip("/")
    for prefix, known in SHARED_ISSUERS.items():
        if issuer == prefix.rstrip("/") or issuer.startswith(prefix.rstrip("/") + "/"):
            return known
    for item in (extra or "").replace(";", ",").split(","):
        if item.strip() and issuer == item.strip().rstrip("/"):
            return ("sub",), "every tenant of this issuer (skyflow:sharedIssuers)"
    return None


def _url_failures(prop: str, value: Any, *, https_only: bool, example: str
                  ) -> list[CheckFailure]:
    """An https URL (``public_key_jwk_uri`` may be http to a loopback host, for tests)."""
    if is_unknown(value):
        return []
    if value is None or value == "":
        return [CheckFailure(prop, f"{prop} is required: the OIDC issuer whose tokens are "
                             f"trusted, e.g. {example}")] if https_only else []
    problem = check_url(value, prop)
    if problem is None and https_only and not str(value).startswith("https://"):
        problem = f"{prop} must be an https URL (an OIDC issuer is always https)"
    return [CheckFailure(prop, f"{problem}; e.g. {example}")] if problem else []


def _issuer_of(host_url: str) -> str:
    parts = urlsplit(host_url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


def sts_listing(client: Any, name: str) -> idempotency.Named:
    """The account's STS configs named ``name`` (one name-filtered listing)."""
    return idempotency._named(lambda: client.list_sts_configs(name=name), name)


def create_sts_config(client: Any, body: Mapping[str, Any]) -> dict[str, Any]:
    """``client.create_sts_config`` that adopts its own config (same name) after a lost
    response (``idempotency.create_or_adopt``)."""
    name = str(body.get("name") or "")
    resp, adopted = idempotency.create_or_adopt(
        f"create STS config {name!r}", lambda: client.create_sts_config(body),
        sts_listing(client, name), proof=idempotency.process_proof(client, audit.STS_CONFIGS),
        known=lambda: idempotency.made_here(client))
    if resp is None:
        idempotency.made(client, str((adopted or {}).get("ID")))
        return {"ID": str((adopted or {}).get("ID"))}
    idempotency.made(client, str(resp.get("ID") or ""))
    return resp


class StsConfigProvider(NamedRecovery, SkyflowProvider):
    """CRUD for /v1/sts/config; update in place is ``POST /v1/sts/config/{ID}``."""

    spec = STS_CONFIG
    recovery_kind, recovery_what = "StsConfig", "STS config"

    def recovery_listing(self, client: Any, props: Mapping[str, Any]) -> idempotency.Named:
        return sts_listing(client, str(props.get("name")))

    def _shared_extra(self) -> str | None:
        settings = self._settings
        return getattr(settings, "shared_issuers", None) or os.environ.get(SHARED_ISSUERS_ENV)

    def validate(self, news: dict[str, Any]) -> list[CheckFailure]:
        f = v.check_unknown_keys(news, self.input_keys)
        f += v.check_name("name", news.get("name"))
        f += v.check_string("description", news.get("description"), max_len=v.MAX_DESCRIPTION,
                            single_line=False)
        f += v.check_id("adopt_id", news.get("adopt_id"), required=False)
        f += v.check_id_list("service_account_ids", news.get("service_account_ids"))
        f += v.check_string_list("context_claims", news.get("context_claims"),
                                 item_pattern=v.CLAIM_RE, item_hint=CLAIM_HINT)
        issuer, jwks = news.get("issuer"), news.get("public_key_jwk_uri")
        f += _url_failures("issuer", issuer, https_only=True,
                           example="https://token.actions.githubusercontent.com")
        f += _url_failures("public_key_jwk_uri", jwks, https_only=False,
                           example="https://token.actions.githubusercontent.com/.well-known/jwks")
        claims = news.get("context_claims")
        if isinstance(issuer, str) and not is_unknown(issuer) and not contains_unknown(claims):
            known = shared_issuer(_issuer_of(issuer), self._shared_extra())
            have = set(claims or [])
            if known is not None and not have & set(known[0]):
                wanted = " or ".join(known[0])
                f.append(CheckFailure(
                    "context_claims",
                    f"issuer {issuer} is shared by {known[1]}, and Skyflow's STS config has no "
                    "audience or subject restriction: any of them could exchange its token for "
                    f"these service accounts' tokens. Add {wanted} to context_claims and "
                    "require it in the role assignments' condition (e.g. "
                    f"\"request.context.{known[0][0]} == '...'\"; GitHubActionsIdentity and "
                    "KubernetesIdentity do both)"))
        return f

    @staticmethod
    def _body(props: Mapping[str, Any]) -> dict[str, Any]:
        return {"name": props["name"], "description": props.get("description") or "",
                "issuer": props["issuer"],
                "publicKeyJWKURI": props.get("public_key_jwk_uri") or "",
                "serviceAccountIDs": list(props.get("service_account_ids") or []),
                "contextClaims": list(props.get("context_claims") or [])}

    def _outputs(self, props: Mapping[str, Any], remote: Mapping[str, Any]) -> dict[str, Any]:
        outs = {k: props.get(k) for k in self.input_keys}
        outs["namespace"] = str(remote.get("namespace") or "")
        return outs

    def create(self, props: dict[str, Any]) -> CreateResult:
        props = self.apply_defaults(props)
        what = f"create STS config {props['name']!r}"
        config_id = props.get("adopt_id")
        if not config_id:
            orphan = self.leftover(props, what)
            config_id = (orphan or {}).get("ID")
        if config_id:  # adopt: the declared settings replace the remote ones
            got = self.call(f"adopt STS config {config_id}", self.client.get_sts_config,
                            str(config_id), missing_ok=True)
            if got is None:
                raise SkyflowProviderError(f"adopt_id {config_id}: Skyflow has no such STS "
                                           "config; check the id or remove adopt_id")
            remote = self.call(f"update STS config {config_id}", self.client.update_sts_config,
                               str(config_id), self._body(props))
            return CreateResult(str(config_id), self._outputs(props, remote or got))
        resp = self.create_unique(what, props, create_sts_config, self.client,
                                  self._body(props))
        config_id = str(resp.get("ID") or "")
        if not config_id:
            raise SkyflowProviderError(f"Skyflow: {what} returned no ID")
        with self.undo_on_failure(lambda: self.client.delete_sts_config(config_id), config_id):
            got = self.call(f"read STS config {config_id}", self.client.get_sts_config,
                            config_id)
        return CreateResult(config_id, self._outputs(props, got))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        got = self.call(f"read STS config {id_}", self.client.get_sts_config, id_,
                        missing_ok=True)
        if got is None:
            return ReadResult(None, {})
        outs = {k: props.get(k) for k in STS_CONFIG.state_keys}
        outs.update(name=got.get("name", props.get("name")),
                    description=got.get("description") or "",
                    issuer=got.get("issuer", props.get("issuer")),
                    public_key_jwk_uri=got.get("publicKeyJWKURI") or None,
                    service_account_ids=list(got.get("serviceAccountIDs") or []),
                    context_claims=list(got.get("contextClaims") or []),
                    namespace=str(got.get("namespace") or props.get("namespace") or ""))
        return ReadResult(id_, outs, {k: outs.get(k) for k in self.input_keys})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        news = self.apply_defaults(news)
        try:
            remote = self.client.update_sts_config(id_, self._body(news))
        except SkyflowError as err:
            raise_clean(err, f"update STS config {id_}")
        outs = self._outputs(news, remote or {})
        outs["namespace"] = outs["namespace"] or olds.get("namespace") or ""
        return UpdateResult(outs)

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        if idempotency.adopted_this_run(self.client, id_):
            return  # held by the resource that took it over in this run
        self.call(f"delete STS config {id_}", self.client.delete_sts_config, id_,
                  missing_ok=True)


class StsConfig(StsConfigOutputs, Resource, module="skyflow", name="StsConfig"):
    """Skyflow's STS configuration: which OIDC issuer's tokens may become whose tokens."""

    def __init__(
        self,
        resource_name: str,
        args: StsConfigArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props, opts = declare(STS_CONFIG, args, kwargs, StsConfigArgs, opts)
        super().__init__(StsConfigProvider(), resource_name, props, opts)


__all__ = ["SHARED_ISSUERS", "StsConfig", "StsConfigArgs", "StsConfigProvider", "shared_issuer"]
