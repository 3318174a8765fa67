"""Keyless: a Skyflow bearer token from the workload's own OIDC identity, through Skyflow's STS.

Why: a pipeline or a pod already holds a short-lived token from its platform (GitHub Actions,
GitLab, Kubernetes). Exchanging it at ``POST /v1/auth/sts/token`` for a Skyflow token of a
keyless service account removes the last long-lived key (credentials.json) from CI and from the
workloads. The wire shape comes from Skyflow's spec (body fields) and from public integration
code (grant and token types, ``accessToken``); docs/keyless.md says which is which.

A *subject-token source* says where the OIDC token comes from; each is read again on every
exchange, because the platforms rotate them (a Kubernetes projected token file is rewritten by
the kubelet, a GitHub token is asked for per job).
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

import requests

from ..http import transport as http_session
from ..http.errors import CredentialsError, TransportError
from .credentials import check_url
from .exchange import _session, post_token

STS_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
STS_PATH = "/v1/auth/sts/token"
GITHUB_URL_ENV = "ACTIONS_ID_TOKEN_REQUEST_URL"
GITHUB_TOKEN_ENV = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"  # noqa: S105 - a variable's name
COMMAND_TIMEOUT = 30.0
MAX_SUBJECT_TOKEN = 16_384
#: the forms of ``skyflow:oidcTokenSource`` / ``--oidc-token-source``
SOURCE_FORMS = ("github-actions", "file:PATH", "env:VARIABLE", "command:COMMAND")


class SubjectTokenSource(Protocol):
    """Where the OIDC token comes from; ``token()`` is called on every exchange."""

    def token(self) -> str: ...

    def describe(self) -> str: ...


def _clean(raw: str, where: str) -> str:
    """A subject token: one JWT-shaped line; never echoed in an error."""
    value = raw.strip()
    if not value:
        raise CredentialsError(f"the OIDC token from {where} is empty",
                               field="oidcTokenSource")
    if len(value) > MAX_SUBJECT_TOKEN or value.count(".") != 2 or any(c.isspace()
                                                                       for c in value):
        raise CredentialsError(f"the OIDC token from {where} is not a JWT",
                               field="oidcTokenSource")
    return value


@dataclass(frozen=True)
class FileTokenSource:
    """A token file, read on every exchange (Kubernetes projected service-account tokens
    rotate: the kubelet rewrites the file well before the token expires)."""

    path: str

    def token(self) -> str:
        try:
            return _clean(Path(self.path).read_text(encoding="utf-8"), self.describe())
        except OSError as exc:
            raise CredentialsError(f"cannot read the OIDC token file {self.path!r} "
                                   f"({exc.strerror})", field="oidcTokenSource") from None

    def describe(self) -> str:
        return f"file {self.path}"


@dataclass(frozen=True)
class EnvTokenSource:
    """An environment variable holding the token (GitLab CI's ``id_tokens:``)."""

    variable: str
    env: Mapping[str, str] | None = field(default=None, compare=False)

    def token(self) -> str:
        value = (os.environ if self.env is None else self.env).get(self.variable)
        if not value:
            raise CredentialsError(f"the environment variable {self.variable} (the OIDC "
                                   "token) is not set; in GitLab CI declare it under "
                                   "id_tokens:", field="oidcTokenSource")
        return _clean(value, self.describe())

    def describe(self) -> str:
        return f"env {self.variable}"


@dataclass(frozen=True)
class CommandTokenSource:
    """A command printing the token on stdout (no shell; run on every exchange)."""

    argv: tuple[str, ...]
    timeout: float = COMMAND_TIMEOUT

    def token(self) -> str:
        try:
            done = subprocess.run(list(self.argv), capture_output=True, text=True,
                                  timeout=self.timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CredentialsError(f"the OIDC token command {self.argv[0]!r} could not run "
                                   f"({type(exc).__name__})", field="oidcTokenSource") from None
        if done.returncode != 0:
            raise CredentialsError(f"the OIDC token command {self.argv[0]!r} exited with "
                                   f"{done.returncode}", field="oidcTokenSource")
        return _clean(done.stdout, self.describe())

    def describe(self) -> str:
        return f"command {self.argv[0]}"


@dataclass(frozen=True)
class GitHubActionsTokenSource:
    """GitHub Actions' ID token: ``GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=...`` with
    ``Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN``, the token in ``.value``.
    The job needs ``permissions: id-token: write``."""

    audience: str | None = None
    ca_bundle: str | None = None
    timeout: Any = None
    env: Mapping[str, str] | None = field(default=None, compare=False)

    def token(self) -> str:
        env = os.environ if self.env is None else self.env
        url, bearer = env.get(GITHUB_URL_ENV), env.get(GITHUB_TOKEN_ENV)
        if not url or not bearer:
            raise CredentialsError(
                f"{GITHUB_URL_ENV} / {GITHUB_TOKEN_ENV} are not set: this is not a GitHub "
                "Actions job, or the job lacks `permissions: id-token: write`",
                field="oidcTokenSource")
        problem = check_url(url, GITHUB_URL_ENV)
        if problem:
            raise CredentialsError(problem, field="oidcTokenSource")
        if self.audience:
            url += ("&" if urlsplit(url).query else "?") + urlencode({"audience": self.audience})
        try:
            resp = _session(self.ca_bundle).get(
                url, headers={"Authorization": f"bearer {bearer}", "Accept": "application/json"},
                allow_redirects=False, **http_session.request_kwargs(self.timeout))
        except requests.exceptions.RequestException as exc:
            raise TransportError(f"could not reach GitHub's ID token endpoint "
                                 f"({http_session.transport_reason(exc)})",
                                 operation="OIDC token request") from None
        if resp.status_code != 200:
            raise CredentialsError(f"GitHub's ID token endpoint answered {resp.status_code}; "
                                   "does the job have `permissions: id-token: write`?",
                                   field="oidcTokenSource")
        try:
            value = resp.json().get("value")
        except (ValueError, AttributeError):
            value = None
        if not isinstance(value, str):
            raise CredentialsError("GitHub's ID token endpoint gave no .value",
                                   field="oidcTokenSource")
        return _clean(value, self.describe())

    def describe(self) -> str:
        return "GitHub Actions" + (f" (audience {self.audience})" if self.audience else "")


@dataclass(frozen=True)
class StaticTokenSource:
    """A token given as a value (tests, or a caller that fetched it itself)."""

    value: str = field(repr=False)

    def token(self) -> str:
        return _clean(self.value, self.describe())

    def describe(self) -> str:
        return "a given token"


def parse_source(spec: str, *, audience: str | None = None, ca_bundle: str | None = None,
                 timeout: Any = None) -> SubjectTokenSource:
    """``github-actions`` | ``file:PATH`` | ``env:VARIABLE`` | ``command:COMMAND``."""
    text = (spec or "").strip()
    kind, _, rest = text.partition(":")
    kind = kind.strip().lower()
    rest = rest.strip()
    if kind in ("github-actions", "github") and not rest:
        return GitHubActionsTokenSource(audience=audience, ca_bundle=ca_bundle, timeout=timeout)
    if kind == "file" and rest:
        return FileTokenSource(os.path.expanduser(rest))
    if kind == "env" and rest:
        if not rest.replace("_", "").isalnum():
            raise CredentialsError(f"env:{rest}: not a variable name", field="oidcTokenSource")
        return EnvTokenSource(rest)
    if kind == "command" and rest:
        try:
            argv = tuple(shlex.split(rest))
        except ValueError:
            argv = ()
        if not argv:
            raise CredentialsError("command: needs a command", field="oidcTokenSource")
        return CommandTokenSource(argv)
    raise CredentialsError(f"unknown OIDC token source {text!r}; use one of "
                           f"{', '.join(SOURCE_FORMS)}", field="oidcTokenSource")


def sts_endpoint(management_url: str) -> str:
    """``POST /v1/auth/sts/token`` on the management host."""
    parts = urlsplit(management_url)
    return f"{parts.scheme}://{parts.netloc}{STS_PATH}"


def exchange_subject_token(
    subject_token: str,
    management_url: str,
    service_account_id: str,
    *,
    ca_bundle: str | None = None,
    timeout: Any = None,
    session: requests.Session | None = None,
) -> tuple[str, str]:
    """Trade an OIDC token for a Skyflow token of ``service_account_id``: (token, type).

    No ``Authorization`` header: the subject token authenticates. The answer is read from
    ``accessToken`` (the spec's properties, the Kong plugin) or ``access_token`` (the spec's
    example).
    """
    body = {"grant_type": STS_GRANT_TYPE, "subject_token": subject_token,
            "subject_token_type": JWT_TOKEN_TYPE, "service_account_id": service_account_id}
    return post_token(sts_endpoint(management_url), body, operation="STS token exchange",
                      hint="Check skyflow:managementUrl and network access.",
                      ca_bundle=ca_bundle, timeout=timeout, session=session)


def generate_bearer_token_from_oidc(
    source: SubjectTokenSource | str,
    service_account_id: str,
    management_url: str = "https://manage.skyflowapis.com",
    *,
    audience: str | None = None,
    ca_bundle: str | None = None,
    timeout: Any = None,
) -> tuple[str, str]:
    """Like ``generate_bearer_token``, keyless: (access_token, token_type) for the keyless
    service account, from an OIDC token (a source object or its ``github-actions`` /
    ``file:`` / ``env:`` / ``command:`` form)."""
    if isinstance(source, str):
        source = parse_source(source, audience=audience, ca_bundle=ca_bundle, timeout=timeout)
    if not service_account_id or not isinstance(service_account_id, str):
        raise CredentialsError("service_account_id is required: the keyless service account "
                               "the STS config lists", field="service_account_id")
    problem = check_url(management_url, "management_url")
    if problem:
        raise CredentialsError(problem, field="management_url")
    ca_bundle = ca_bundle or os.environ.get("SKYFLOW_CA_BUNDLE") or None
    return exchange_subject_token(source.token(), management_url, service_account_id,
                                  ca_bundle=ca_bundle, timeout=timeout)
