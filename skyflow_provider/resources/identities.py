"""Keyless identities in one declaration, safe by construction: ``GitHubActionsIdentity`` and
``KubernetesIdentity``.

Why components: Skyflow's STS config trusts an issuer, with no audience or subject restriction.
Made by hand, a keyless setup is easy to get dangerously wrong (trust GitHub's issuer, forget
the condition: every repository on GitHub gets in). Each component makes the three parts
together: a keyless service account (``enforce_context_id``: a token without ctx is refused),
an STS config copying the identifying claims into the token's ctx, and one role assignment per
role whose ``condition`` requires exactly that repository and ref/environment (or that
Kubernetes namespace and service account). A token from anywhere else still exchanges (STS
cannot tell), but its Skyflow token holds no role that applies: it can do nothing.

``aud`` is copied into the ctx too: a provider running keyless asks for an OIDC token whose
audience is its stack's tag, so the ctx names the stack and recovery can prove what a killed run
made (recovery/owner.py). No condition looks at it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

from .role_assignment import RoleAssignment
from .service_account import ServiceAccount
from .sts_config import StsConfig

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITHUB_JWKS = GITHUB_ISSUER + "/.well-known/jwks"
REPOSITORY_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
#: values embedded in a CEL string literal: no quote, backslash or control character
SAFE_VALUE_RE = re.compile(r"^[^'\"\\\x00-\x1f]{1,255}$")
K8S_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")

#: a role: its id (a Role's or SystemRole's ``id``), or ``{"vault_id", "role_name"}``
RoleRef = Any


def _literal(value: str) -> str:
    return "'" + value + "'"


def _assignments(name: str, parent: pulumi.Resource, account: ServiceAccount,
                 roles: Sequence[RoleRef], condition: str) -> list[RoleAssignment]:
    out = []
    for i, role in enumerate(roles):
        by: dict[str, Any] = ({"vault_id": role["vault_id"], "role_name": role["role_name"]}
                              if isinstance(role, Mapping) else {"role_id": role})
        out.append(RoleAssignment(f"{name}-role-{i}", service_account_id=account.id,
                                  condition=condition, **by,
                                  opts=pulumi.ResourceOptions(parent=parent)))
    return out


def _check(what: str, value: Any, pattern: re.Pattern[str], hint: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise ValueError(f"{what} {value!r} is invalid: {hint}")
    return value


class _KeylessIdentity(pulumi.ComponentResource):
    """The shared shape: account, STS config, conditional role assignments."""

    service_account_id: pulumi.Output[str]
    sts_config_id: pulumi.Output[str]
    condition: str

    def _build(self, name: str, *, account_name: str, issuer: str, jwks_uri: str | None,
               claims: list[str], condition: str, roles: Sequence[RoleRef],
               description: str) -> None:
        if not roles:
            raise ValueError(f"{name}: roles is empty; give the role ids (or {{vault_id, "
                             "role_name}}) this identity needs")
        child = pulumi.ResourceOptions(parent=self)
        self.account = ServiceAccount(f"{name}-account", name=account_name, keyless=True,
                                      enforce_context_id=True, description=description,
                                      opts=child)
        self.sts_config = StsConfig(f"{name}-sts", name=account_name, issuer=issuer,
                                    public_key_jwk_uri=jwks_uri,
                                    service_account_ids=[self.account.id],
                                    context_claims=claims, description=description, opts=child)
        self.condition = condition
        self.role_assignments = _assignments(name, self, self.account, roles, condition)
        self.service_account_id = self.account.id
        self.sts_config_id = self.sts_config.id
        self.register_outputs({"service_account_id": self.account.id,
                               "sts_config_id": self.sts_config.id,
                               "condition": condition})


class GitHubActionsIdentity(_KeylessIdentity):
    """A GitHub Actions workflow of one repository (and one ref and/or environment, or its pull
    requests) as a keyless Skyflow identity. Its job needs ``permissions: id-token: write``; the
    provider or ``skyflow-token --oidc-token-source github-actions`` then exchanges the job's
    token.

    ``pull_request=True`` (alone) admits the repository's ``pull_request`` workflows (GitHub's
    ``sub`` ``repo:ORG/REPO:pull_request``; forks get no ID token): give it read-only roles, for
    ``pulumi preview`` on pull requests. ``issuer`` / ``jwks_uri``: GitHub Enterprise Server's
    (``https://HOST/_services/token``)."""

    def __init__(self, resource_name: str, *, repository: str, roles: Sequence[RoleRef],
                 ref: str | None = None, environment: str | None = None,
                 pull_request: bool = False,
                 account_name: str | None = None, issuer: str = GITHUB_ISSUER,
                 jwks_uri: str | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("skyflow:index:GitHubActionsIdentity", resource_name, None, opts)
        _check("repository", repository, REPOSITORY_RE, "write it as 'org/repo'")
        if pull_request and (ref is not None or environment is not None):
            raise ValueError("GitHubActionsIdentity: pull_request=True admits the repository's "
                             "pull requests (any head branch); it cannot be combined with ref "
                             "or environment")
        if ref is None and environment is None and not pull_request:
            raise ValueError("GitHubActionsIdentity needs ref (e.g. 'refs/heads/main') or "
                             "environment (e.g. 'prod'), or pull_request=True: a repository "
                             "alone would let every branch and event in")
        parts = [f"request.context.repository == {_literal(repository)}"]
        if pull_request:
            parts.append(f"request.context.sub == {_literal(f'repo:{repository}:pull_request')}")
        if ref is not None:
            _check("ref", ref, SAFE_VALUE_RE, "a full ref such as 'refs/heads/main' (no "
                   "quotes or backslashes)")
            if not ref.startswith("refs/"):
                raise ValueError(f"ref {ref!r} is invalid: GitHub's ref claim is a full ref, "
                                 f"e.g. 'refs/heads/{ref}'")
            parts.append(f"request.context.ref == {_literal(ref)}")
        if environment is not None:
            _check("environment", environment, SAFE_VALUE_RE, "a GitHub environment name "
                   "(no quotes or backslashes)")
            parts.append(f"request.context.environment == {_literal(environment)}")
        default_name = "gha-" + re.sub(r"[^A-Za-z0-9_.-]", "-", repository.replace("/", "-"))
        self._build(resource_name, account_name=account_name or default_name, issuer=issuer,
                    jwks_uri=jwks_uri or (GITHUB_JWKS if issuer == GITHUB_ISSUER else None),
                    claims=["repository", "ref", "environment", "sub", "aud"],
                    condition=" && ".join(parts), roles=roles,
                    description=f"keyless: GitHub Actions {repository}")


class KubernetesIdentity(_KeylessIdentity):
    """A Kubernetes service account of one cluster as a keyless Skyflow identity: pods mount a
    projected service-account token (``audience``, ``expirationSeconds``) and exchange it with
    ``--oidc-token-source file:/var/run/secrets/.../token`` (re-read on every exchange)."""

    def __init__(self, resource_name: str, *, issuer: str, namespace: str,
                 service_account: str, roles: Sequence[RoleRef], jwks_uri: str | None = None,
                 account_name: str | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("skyflow:index:KubernetesIdentity", resource_name, None, opts)
        _check("namespace", namespace, K8S_NAME_RE, "a Kubernetes namespace name")
        _check("service_account", service_account, K8S_NAME_RE,
               "a Kubernetes service account name")
        subject = f"system:serviceaccount:{namespace}:{service_account}"
        self._build(resource_name,
                    account_name=account_name or f"k8s-{namespace}-{service_account}",
                    issuer=issuer, jwks_uri=jwks_uri, claims=["sub", "aud"],
                    condition=f"request.context.sub == {_literal(subject)}", roles=roles,
                    description=f"keyless: Kubernetes {subject}")


__all__ = ["GITHUB_ISSUER", "GITHUB_JWKS", "GitHubActionsIdentity", "KubernetesIdentity"]
