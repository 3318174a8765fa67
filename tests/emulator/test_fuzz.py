"""Arbitrary JSON bodies never crash the emulator: every answer is 200 or a 4xx envelope that
matches the contract, and 200s only come from valid input."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import Api

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
    r = api.call("POST", "/v1/serviceAccounts", json_body=body if body is not None else {})
    assert r.status_code in (200, 400, 404), r.text


@FUZZ
@given(body=st.one_of(json_values, st.fixed_dictionaries({}, optional={
    "roleDefinition": json_values, "resource": json_values})))
def test_create_role_fuzz(api: Api, body: object) -> None:
    r = api.call("POST", "/v1/roles", json_body=body if body is not None else {})
    assert r.status_code in (200, 400, 404, 409), r.text


@FUZZ
@given(body=st.one_of(json_values, st.fixed_dictionaries({}, optional={
    "name": json_values, "resource": json_values, "ruleParams": json_values,
    "activated": json_values})))
def test_create_policy_fuzz(api: Api, body: object) -> None:
    r = api.call("POST", "/v1/policies", json_body=body if body is not None else {})
    assert r.status_code in (200, 400, 404), r.text


@FUZZ
@given(body=json_values, scope=json_values)
def test_token_endpoint_fuzz(api: Api, body: object, scope: object) -> None:
    payload = body if isinstance(body, dict) else {"assertion": body, "scope": scope,
                                                   "grant_type": "urn:ietf:params:oauth:"
                                                                 "grant-type:jwt-bearer"}
    r = api.call("POST", "/v1/auth/sa/oauth/token", json_body=payload, bearer=None, account=None)
    assert r.status_code in (400, 401), r.text
