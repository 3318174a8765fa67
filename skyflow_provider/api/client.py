"""Skyflow Management API client: one method per operation the provider uses.

Transport concerns live in ``http_session`` (pooling, retries, TLS trust); authentication in
``tokens.TokenProvider``. This module builds requests, maps Skyflow's error envelope to typed
exceptions, and paginates. Sessions are per thread (``threading.local``): requests sessions are
not documented as thread-safe, and Pulumi calls providers from several threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import requests

from ..auth.credentials import check_url
from ..auth.tokens import TokenProvider
from ..http import transport as http_session
from ..http.errors import (
    ConfigError,
    SkyflowError,
    TransportError,
    error_from_response,
    request_id_of,
)
from ..http.redaction import redact_body, redact_headers
from .settings import ProviderSettings

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 25
MAX_PAGES = 10_000


def _q(value: str) -> str:
    """Quote one path segment (ids are opaque; never let one add a path level)."""
    return quote(str(value), safe="")





class ManagementClient:
    """Calls Skyflow's Management API for ``settings``; every method returns parsed JSON.

    Thread-safe: sessions are per thread, the token provider has its own lock. Refuses to be
    pickled, so it can never be captured into a dynamic provider's serialized state.
    """

    def __init__(
        self,
        settings: ProviderSettings,
        token_provider: TokenProvider | None = None,
        *,
        timeout: Any = None,
        retry_total: int = 5,
        backoff_factor: float = 0.5,
        rate_limit_rounds: int = 2,
    ) -> None:
        problem = check_url(settings.management_url, "The management URL")
        if problem:
            raise ConfigError(problem, key="skyflow:managementUrl",
                              env_var="SKYFLOW_MANAGEMENT_URL")
        self.settings = settings
        self.base_url = settings.management_url.rstrip("/")
        self.tokens = token_provider or TokenProvider.from_settings(settings)
        self.timeout = timeout if timeout is not None else settings.timeout
        self._ca_bundle = settings.ca_bundle
        self._retry_total = retry_total
        self._backoff = backoff_factor
        # 429 means "not processed": after urllib3's retries, wait Retry-After and start over
        # this many more times, so a long rate-limit burst slows a run down instead of failing
        # it (each round is retry_total + 1 attempts).
        self._rate_limit_rounds = rate_limit_rounds
        self._local = threading.local()

    # ----------------------------------------------------------------------- plumbing

    def _session(self, idempotent: bool) -> requests.Session:
        sessions: dict[bool, requests.Session] | None = getattr(self._local, "sessions", None)
        if sessions is None:
            sessions = self._local.sessions = {}
        s = sessions.get(idempotent)
        if s is None:
            retry = http_session.make_retry(idempotent=idempotent, total=self._retry_total,
                                            backoff_factor=self._backoff)
            s = sessions[idempotent] = http_session.build_session(
                idempotent=idempotent, ca_bundle=self._ca_bundle, retry=retry)
        return s

    def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        operation: str = "",
        target: str = "",
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """Send one API call; return the JSON object or raise a ``SkyflowError`` subclass.

        ``idempotent`` defaults to True for GET/PUT/DELETE and False for POST/PATCH; it
        decides whether 5xx/read errors are retried (429 always is).
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "DELETE")
        url = self.base_url + path
        op = operation or f"{method} {path}"
        retried_auth = False
        rate_rounds = 0
        earlier_attempts = 0  # attempts of earlier rate-limit rounds
        while True:
            token = self.tokens.get_token()
            headers = {
                "Authorization": f"Bearer {token}",
                "X-Skyflow-Account-ID": self.settings.account_id,
                "Accept": "application/json",
            }
            if json is not None:
                headers["Content-Type"] = "application/json"
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s %s params=%s headers=%s body=%s", method, url, params,
                          redact_headers(headers), redact_body(json))
            started = time.monotonic()
            try:
                resp = self._session(idempotent).request(
                    method, url, json=json, params=params, headers=headers,
                    allow_redirects=False,  # never forward the token to another location
                    **http_session.request_kwargs(self.timeout))
            except requests.exceptions.SSLError as exc:
                raise TransportError(
                    f"{op} {target}: TLS verification of {self.base_url} failed "
                    f"({http_session.transport_reason(exc)})".replace("  ", " "),
                    operation=op, target=target or None,
                    hint="For a private CA (such as the emulator's) set skyflow:caBundle / "
                    "SKYFLOW_CA_BUNDLE or REQUESTS_CA_BUNDLE. Verification cannot be disabled.",
                ) from None
            except requests.exceptions.RequestException as exc:
                raise TransportError(
                    f"{op} {target}: no response from {self.base_url} "
                    f"({http_session.transport_reason(exc)})".replace("  ", " "),
                    operation=op, target=target or None,
                ) from None
            attempts = http_session.attempts_of(resp)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s %s -> %s in %.0f ms (%d attempt(s)) request_id=%s body=%s",
                          method, url, resp.status_code, (time.monotonic() - started) * 1000,
                          attempts, request_id_of(resp, None), redact_body(resp.content))
            if resp.status_code == 401 and not retried_auth and \
                    self.tokens.invalidate(token):
                # The cached token may have been revoked or expired early: exchange once more.
                retried_auth = True
                continue
            if resp.status_code == 429 and rate_rounds < self._rate_limit_rounds:
                rate_rounds += 1
                earlier_attempts += attempts
                time.sleep(http_session.retry_after_seconds(resp, default=1.0))
                continue
            break
        attempts += earlier_attempts
        if resp.status_code >= 300 or resp.status_code < 200:
            raise error_from_response(resp, operation=op, target=target or None,
                                      attempts=attempts)
        if not resp.content:
            return {}
        try:
            data = resp.json()
        except ValueError:
            raise SkyflowError(
                f"{op}: the response is not JSON", status=resp.status_code, operation=op,
                target=target or None, request_id=request_id_of(resp, None),
            ) from None
        if not isinstance(data, dict):
            return {"items": data}
        return data

    def paginate(
        self,
        path: str,
        key: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        operation: str = "",
        target: str = "",
    ) -> list[Any]:
        """All items of a list endpoint: offset/limit as strings, stop on a short page."""
        return list(self.iter_pages(path, key, params, limit=limit, operation=operation,
                                    target=target))

    def iter_pages(
        self,
        path: str,
        key: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        operation: str = "",
        target: str = "",
    ) -> Iterator[Any]:
        offset = 0
        for _ in range(MAX_PAGES):
            page_params = dict(params or {})
            page_params.update({"offset": str(offset), "limit": str(limit)})
            data = self.request("GET", path, params=page_params, operation=operation,
                                target=target)
            items = data.get(key) or []
            if not isinstance(items, list):
                raise SkyflowError(f"{operation or path}: '{key}' in the response is not a list",
                                   operation=operation)
            yield from items
            if len(items) < limit:
                return
            offset += len(items)
        raise SkyflowError(f"{operation or path}: more than {MAX_PAGES} pages; giving up",
                           operation=operation)

    def __reduce__(self) -> Any:
        raise TypeError(
            "ManagementClient must not be pickled (it holds credentials and live sessions); "
            "create it in the provider process, e.g. in configure() or a lazy property"
        )

    def __repr__(self) -> str:
        return (f"ManagementClient(url={self.base_url!r}, account_id="
                f"{self.settings.account_id!r}, auth={self.tokens.mode!r})")

    def close(self) -> None:
        """Close this thread's sessions (others close when their threads end)."""
        sessions = getattr(self._local, "sessions", None) or {}
        for s in sessions.values():
            s.close()
        self._local.sessions = {}

    # ----------------------------------------------------------------------- service accounts

    def create_service_account(self, body: Mapping[str, Any]) -> dict[str, Any]:
        name = (body.get("serviceAccount") or {}).get("name", "")
        return self.request("POST", "/v1/serviceAccounts", json=dict(body),
                            operation="create service account", target=repr(name))

    def get_service_account(self, id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/serviceAccounts/{_q(id)}",
                            operation="read service account", target=id)

    def list_service_accounts(self, name: str | None = None,
                              status: str | None = None) -> list[Any]:
        params: dict[str, Any] = {"accountID": self.settings.account_id}
        if name:
            params["name"] = name
        if status:
            params["status"] = status
        return self.paginate("/v1/serviceAccounts", "serviceAccounts", params,
                             operation="list service accounts")

    def update_service_account(self, id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        # Full desired state in the body: repeating it is harmless, so it is retried.
        return self.request("PATCH", f"/v1/serviceAccounts/{_q(id)}", json=dict(body),
                            operation="update service account", target=id, idempotent=True)

    def delete_service_account(self, id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/v1/serviceAccounts/{_q(id)}",
                            operation="delete service account", target=id)

    # ----------------------------------------------------------------------- key pairs

    def create_key(self, sa_id: str) -> dict[str, Any]:
        return self.request("POST", f"/v1/serviceAccounts/{_q(sa_id)}/keys",
                            operation="create key", target=f"for service account {sa_id}")

    def list_keys(self, sa_id: str) -> list[Any]:
        data = self.request(
            "GET", f"/v1/serviceAccounts/{_q(sa_id)}/keys",
            params=[("keyTypes", "USER_MANAGED"), ("keyTypes", "SYSTEM_MANAGED")],
            operation="list keys", target=f"of service account {sa_id}")
        return list(data.get("keys") or [])

    def get_key(self, sa_id: str, key_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/serviceAccounts/{_q(sa_id)}/keys/{_q(key_id)}",
                            operation="read key", target=f"{key_id} of service account {sa_id}")

    def rotate_key(self, sa_id: str, key_id: str) -> dict[str, Any]:
        # Not idempotent: a repeated rotate would discard the key the first one returned.
        return self.request("PUT",
                            f"/v1/serviceAccounts/{_q(sa_id)}/keys/{_q(key_id)}/rotate",
                            operation="rotate key",
                            target=f"{key_id} of service account {sa_id}", idempotent=False)

    def delete_key(self, sa_id: str, key_id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/v1/serviceAccounts/{_q(sa_id)}/keys/{_q(key_id)}",
                            operation="delete key",
                            target=f"{key_id} of service account {sa_id}")

    # ----------------------------------------------------------------------- API keys

    def create_api_key(self, sa_id: str) -> dict[str, Any]:
        return self.request("POST", f"/v1/serviceAccounts/{_q(sa_id)}/apikey",
                            operation="create API key", target=f"for service account {sa_id}")

    def list_api_keys(self, sa_id: str) -> list[Any]:
        data = self.request("GET", f"/v1/serviceAccounts/{_q(sa_id)}/apikey",
                            operation="list API keys", target=f"of service account {sa_id}")
        return list(data.get("apiKeys") or [])

    def get_api_key(self, sa_id: str, key_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/serviceAccounts/{_q(sa_id)}/apikey/{_q(key_id)}",
                            operation="read API key",
                            target=f"{key_id} of service account {sa_id}")

    def rotate_api_key(self, sa_id: str, key_id: str) -> dict[str, Any]:
        return self.request("PUT",
                            f"/v1/serviceAccounts/{_q(sa_id)}/apikey/{_q(key_id)}/rotate",
                            operation="rotate API key",
                            target=f"{key_id} of service account {sa_id}", idempotent=False)

    def delete_api_key(self, sa_id: str, key_id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/v1/serviceAccounts/{_q(sa_id)}/apikey/{_q(key_id)}",
                            operation="delete API key",
                            target=f"{key_id} of service account {sa_id}")

    # ----------------------------------------------------------------------- roles

    def list_roles(self, resource_id: str, resource_type: str = "VAULT",
                   name: str | None = None, type: str | None = None) -> list[Any]:
        params: dict[str, Any] = {"resource.ID": resource_id, "resource.type": resource_type}
        if name:
            params["name"] = name
        if type:
            params["type"] = type
        data = self.request("GET", "/v1/roles", params=params, operation="list roles",
                            target=f"of {resource_type} {resource_id}")
        return list(data.get("roles") or [])

    def create_role(self, body: Mapping[str, Any]) -> dict[str, Any]:
        name = (body.get("roleDefinition") or {}).get("name", "")
        return self.request("POST", "/v1/roles", json=dict(body), operation="create role",
                            target=repr(name))

    def get_role(self, id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/roles/{_q(id)}", operation="read role", target=id)

    def update_role(self, id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", f"/v1/roles/{_q(id)}", json=dict(body),
                            operation="update role", target=id, idempotent=True)

    def delete_role(self, id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/v1/roles/{_q(id)}", operation="delete role", target=id)

    def assign_role(self, role_id: str, members: list[Mapping[str, Any]],
                    condition: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"ID": role_id, "members": [dict(m) for m in members]}
        if condition:
            body["condition"] = condition
        return self.request("POST", "/v1/roles/assign", json=body, operation="assign role",
                            target=role_id)

    def unassign_role(self, role_id: str, members: list[Mapping[str, Any]]) -> dict[str, Any]:
        body = {"ID": role_id, "members": [dict(m) for m in members]}
        return self.request("POST", "/v1/roles/unassign", json=body,
                            operation="unassign role", target=role_id)

    def list_role_members(self, role_id: str) -> list[Any]:
        return self.paginate(f"/v1/roles/{_q(role_id)}/members", "members",
                             operation="list members", target=f"of role {role_id}")

    def list_member_roles(self, member_id: str,
                          member_type: str = "SERVICE_ACCOUNT") -> list[Any]:
        return self.paginate(f"/v1/members/{_q(member_id)}/roles", "roleToResource",
                             {"member.type": member_type}, operation="list roles",
                             target=f"of {member_type} {member_id}")

    def list_member_permissions(self, member_id: str,
                                member_type: str = "SERVICE_ACCOUNT") -> list[str]:
        data = self.request("GET", f"/v1/members/{_q(member_id)}/permissions",
                            params={"member.type": member_type},
                            operation="list permissions", target=f"of {member_type} {member_id}")
        return list(data.get("permissions") or [])

    # ----------------------------------------------------------------------- policies

    def create_policy(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/v1/policies", json=dict(body), operation="create policy",
                            target=repr(body.get("name", "")))

    def get_policy(self, id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/policies/{_q(id)}", operation="read policy", target=id)

    def list_policies(self, resource_id: str, resource_type: str = "VAULT",
                      name: str | None = None) -> list[Any]:
        params: dict[str, Any] = {"resource.ID": resource_id, "resource.type": resource_type}
        if name:
            params["filterOps.name"] = name
        return self.paginate("/v1/policies", "policies", params, operation="list policies",
                             target=f"of {resource_type} {resource_id}")

    def update_policy(self, id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", f"/v1/policies/{_q(id)}", json=dict(body),
                            operation="update policy", target=id, idempotent=True)

    def set_policy_status(self, id: str, status: str) -> dict[str, Any]:
        return self.request("PATCH", f"/v1/policies/{_q(id)}/status", json={"status": status},
                            operation=f"set status {status} of policy", target=id,
                            idempotent=True)

    def delete_policy(self, id: str) -> dict[str, Any]:
        return self.request("DELETE", f"/v1/policies/{_q(id)}", operation="delete policy",
                            target=id)

    def assign_policy(self, policy_id: str, role_ids: list[str]) -> dict[str, Any]:
        return self.request("POST", "/v1/policies/assign",
                            json={"ID": policy_id, "roleIDs": list(role_ids)},
                            operation="attach policy", target=f"{policy_id} to roles "
                            + ", ".join(role_ids))

    def unassign_policy(self, policy_id: str, role_ids: list[str]) -> dict[str, Any]:
        return self.request("POST", "/v1/policies/unassign",
                            json={"ID": policy_id, "roleIDs": list(role_ids)},
                            operation="detach policy", target=f"{policy_id} from roles "
                            + ", ".join(role_ids))

    def list_role_policies(self, role_id: str) -> list[Any]:
        return self.paginate(f"/v1/roles/{_q(role_id)}/policies", "policies",
                             operation="list policies", target=f"of role {role_id}")
