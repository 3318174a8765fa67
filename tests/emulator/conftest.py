"""Fixtures: a real emulator process per session (and fresh ones on demand), and an API client
that validates every response against the contract derived from Skyflow's spec."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

# `venv/bin/pytest` does not put the repo root on sys.path; tests.helpers lives there.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.helpers.emulator_proc import EmulatorProcess  # noqa: E402

CONTRACT_PATH = Path(__file__).resolve().parents[1] / "contract" / "management-contract.json"
CONTRACT = json.loads(CONTRACT_PATH.read_text())
OPERATIONS = {(o["method"], o["path"]): o for o in CONTRACT["operations"]}
ADMIN = object()  # sentinel: use the admin's bearer token
NO_AUTH = None


class ContractError(AssertionError):
    pass


def validate(method: str, template: str, response: requests.Response) -> Any:
    """Every JSON response must match the spec: the 200 schema or Skyflow's error envelope."""
    try:
        body = response.json()
    except ValueError:
        raise ContractError(f"{method} {template}: non-JSON response "
                            f"{response.status_code}: {response.text[:200]!r}") from None
    if response.status_code == 200:
        op = OPERATIONS.get((method, template))
        if op is None:
            return body  # emulator extension; not in the spec
        schema = op["response"]
    else:
        schema = CONTRACT["errorEnvelope"]
        if body.get("error", {}).get("http_code") != response.status_code:
            raise ContractError(f"{method} {template}: envelope http_code != status")
    try:
        jsonschema.validate(body, schema)
    except jsonschema.ValidationError as exc:
        raise ContractError(f"{method} {template} ({response.status_code}) violates the "
                            f"contract: {exc.message} at {list(exc.absolute_path)}") from None
    return body


class Api:
    """Thin HTTP client over a running emulator; validates every response it receives."""

    def __init__(self, emu: EmulatorProcess) -> None:
        self.emu = emu
        self.session = emu.session()
        self._admin: str | None = None
        self.calls = 0

    @property
    def admin_token(self) -> str:
        if self._admin is None:
            self._admin = self.emu.token()
        return self._admin

    def call(self, method: str, template: str, *, path: dict[str, str] | None = None,
             json_body: Any = None, params: Any = None, bearer: Any = ADMIN,
             account: str | None = "", headers: dict[str, str] | None = None,
             raw: bytes | None = None, expect: int | None = None) -> requests.Response:
        url_path = template
        for key, value in (path or {}).items():
            url_path = url_path.replace("{" + key + "}", value)
        h: dict[str, str] = {}
        if bearer is ADMIN:
            bearer = self.admin_token
        if bearer is not None:
            h["Authorization"] = f"Bearer {bearer}"
        if account is not None:
            h["X-Skyflow-Account-ID"] = account or self.emu.account_id
        h.update(headers or {})
        kwargs: dict[str, Any] = {"headers": h, "params": params, "timeout": 30}
        if raw is not None:
            kwargs["data"] = raw
            h.setdefault("Content-Type", "application/json")
        elif json_body is not None:
            kwargs["json"] = json_body
        r = self.session.request(method, self.emu.url + url_path, **kwargs)
        self.calls += 1
        r.body = validate(method, template, r)  # type: ignore[attr-defined]
        if expect is not None:
            assert r.status_code == expect, f"{method} {url_path}: {r.status_code} {r.text}"
        return r

    # -- conveniences used across tests
    def create_sa(self, name: str = "test-sa", **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"serviceAccount": {"name": name, **extra.pop("sa", {})}}
        body.update(extra)
        return dict(self.call("POST", "/v1/serviceAccounts", json_body=body, expect=200).json())

    def assign(self, role_id: str, sa_id: str, condition: str | None = None) -> None:
        body: dict[str, Any] = {"ID": role_id,
                                "members": [{"ID": sa_id, "type": "SERVICE_ACCOUNT"}]}
        if condition is not None:
            body["condition"] = condition
        self.call("POST", "/v1/roles/assign", json_body=body, expect=200)

    def system_role(self, name: str) -> str:
        if name == "ACCOUNT_ADMIN":
            rid, rtype = self.emu.account_id, "ACCOUNT"
        else:
            rid, rtype = self.emu.vault_id, "VAULT"
        roles = self.call("GET", "/v1/roles", expect=200,
                          params={"resource.ID": rid, "resource.type": rtype,
                                  "name": name}).json()["roles"]
        return str(roles[0]["ID"])

    def create_role(self, name: str, permissions: list[str], *,
                    resource: tuple[str, str] | None = None) -> str:
        rtype, rid = resource or ("VAULT", self.emu.vault_id)
        r = self.call("POST", "/v1/roles", expect=200, json_body={
            "roleDefinition": {"name": name, "permissions": permissions},
            "resource": {"ID": rid, "type": rtype}})
        return str(r.json()["ID"])

    def token_for(self, creds: dict[str, Any], **kw: Any) -> str:
        return self.emu.token(creds, **kw)


@pytest.fixture(scope="session")
def emu() -> Iterator[EmulatorProcess]:
    with EmulatorProcess() as e:
        yield e


@pytest.fixture(scope="session")
def api(emu: EmulatorProcess) -> Api:
    return Api(emu)


@pytest.fixture
def fresh_emu() -> Iterator[EmulatorProcess]:
    """A private emulator for tests that restart, kill or inject faults."""
    with EmulatorProcess() as e:
        yield e


@pytest.fixture
def fresh_api(fresh_emu: EmulatorProcess) -> Api:
    return Api(fresh_emu)


@pytest.fixture
def unique(request: pytest.FixtureRequest) -> str:
    """A name unique to the test, so tests sharing the session emulator do not collide."""
    import secrets

    return f"{request.node.name[:40]}-{secrets.token_hex(3)}"
