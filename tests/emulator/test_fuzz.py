"""Arbitrary JSON bodies never crash the emulator: every answer is 200 or a 4xx envelope that
matches the contract, and 200s only come from valid input.

"Valid" is decided here, from the contract derived from Skyflow's spec, not by the emulator's
code: a body the emulator accepts must match the operation's request schema (types, enums,
required fields), with the departures docs/emulator.md lists: ``resource`` may be left out,
``apiKeyEnabled`` is accepted on service accounts, and unknown fields are ignored.
``test_oracle_and_emulator_agree_on_known_bodies`` proves that judgement can go both ways on
every run. (The ``api`` fixture checks every response against the contract.)
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import OPERATIONS, Api


def _lenient(schema: Any) -> Any:
    """The request schema with unknown fields allowed (the emulator ignores them)."""
    if isinstance(schema, dict):
        out = {k: _lenient(v) for k, v in schema.items() if k != "additionalProperties"}
        return out
    if isinstance(schema, list):
        return [_lenient(v) for v in schema]
    return schema


def request_schema(template: str) -> dict[str, Any]:
    schema = _lenient(copy.deepcopy(OPERATIONS[("POST", template)]["requestBody"]))
    schema["required"] = [r for r in schema.get("required", []) if r != "resource"]
    if template == "/v1/serviceAccounts":
        schema["properties"]["apiKeyEnabled"] = {"type": "boolean"}
    return schema


def assert_valid_if_accepted(template: str, body: Any, r: requests.Response) -> None:
    """A 200 proves the body was valid input: it matches the spec's request schema."""
    if r.status_code == 200:
        try:
            jsonschema.validate(body, request_schema(template))
        except jsonschema.ValidationError as exc:
            raise AssertionError(f"POST {template} accepted an invalid body {body!r}: "
                                 f"{exc.message} at {list(exc.absolute_path)}") from None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
sa_like = st.fixed_dictionaries({}, optional={
    "serviceAccount": st.fixed_dictionaries({}, optional={
        "name": json_values, "displayName": json_values, "ipAllowlist": json_values}),
    "clientConfiguration": json_values, "apiKeyEnabled": json_values, "resource": json_values,
    "accountID": json_values})
bodies = st.one_of(json_values, sa_like)
FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(body=bodies)
def test_create_service_account_fuzz(api: Api, body: object) -> None:
    sent = body if body is not None else {}
    r = api.call("POST", "/v1/serviceAccounts", json_body=sent)
    assert r.status_code in (200, 400, 404), r.text
    assert_valid_if_accepted("/v1/serviceAccounts", sent, r)


@FUZZ
@given(body=st.one_of(json_values, st.fixed_dictionaries({}, optional={
    "roleDefinition": json_values, "resource": json_values})))
def test_create_role_fuzz(api: Api, body: object) -> None:
    sent = body if body is not None else {}
    r = api.call("POST", "/v1/roles", json_body=sent)
    assert r.status_code in (200, 400, 404, 409), r.text
    assert_valid_if_accepted("/v1/roles", sent, r)


@FUZZ
@given(body=st.one_of(json_values, st.fixed_dictionaries({}, optional={
    "name": json_values, "resource": json_values, "ruleParams": json_values,
    "activated": json_values})))
def test_create_policy_fuzz(api: Api, body: object) -> None:
    sent = body if body is not None else {}
    r = api.call("POST", "/v1/policies", json_body=sent)
    assert r.status_code in (200, 400, 404), r.text
    assert_valid_if_accepted("/v1/policies", sent, r)


@FUZZ
@given(body=json_values, scope=json_values)
def test_token_endpoint_fuzz(api: Api, body: object, scope: object) -> None:
    payload = body if isinstance(body, dict) else {"assertion": body, "scope": scope,
                                                   "grant_type": "urn:ietf:params:oauth:"
                                                                 "grant-type:jwt-bearer"}
    r = api.call("POST", "/v1/auth/sa/oauth/token", json_body=payload, bearer=None, account=None)
    assert r.status_code in (400, 401), r.text


def _vault(api: Api) -> dict[str, str]:
    return {"ID": api.emu.vault_id, "type": "VAULT"}


@pytest.mark.parametrize("template,make,status", [
    ("/v1/serviceAccounts", lambda api: {"serviceAccount": {"name": "fuzz-ok"},
                                         "apiKeyEnabled": False, "ignored": 1}, 200),
    ("/v1/serviceAccounts", lambda api: {"serviceAccount": {"name": ["not a string"]}}, 400),
    ("/v1/serviceAccounts", lambda api: {"serviceAccount": {"name": "x",
                                                            "ipAllowlist": {"status": "ON"}}},
     400),
    ("/v1/roles", lambda api: {"roleDefinition": {"name": "fuzz-role",
                                                  "permissions": ["vault.read"]},
                               "resource": _vault(api)}, 200),
    ("/v1/roles", lambda api: {"roleDefinition": {"name": 7}, "resource": _vault(api)}, 400),
    ("/v1/policies", lambda api: {"name": "FuzzOk", "resource": _vault(api),
                                  "ruleParams": []}, 200),
    ("/v1/policies", lambda api: {"name": "FuzzBad", "resource": _vault(api),
                                  "activated": "yes"}, 400),
], ids=["sa-valid", "sa-name-list", "sa-bad-enum", "role-valid", "role-name-int",
        "policy-valid", "policy-activated-string"])
def test_oracle_and_emulator_agree_on_known_bodies(api: Api, template: str, make: Any,
                                                   status: int) -> None:
    body = make(api)
    valid = True
    try:
        jsonschema.validate(body, request_schema(template))
    except jsonschema.ValidationError:
        valid = False
    assert valid is (status == 200)
    r = api.call("POST", template, json_body=body)
    assert r.status_code == status, r.text
    assert_valid_if_accepted(template, body, r)
