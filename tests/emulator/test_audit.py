"""The audit log (spec tag Audit): every authenticated management request is recorded, with the
token's ctx as ``bearerTokenContextID``, and ``GET /v1/audit/events`` filters and pages it."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest

from .conftest import Api

EVENTS = "/v1/audit/events"
SA_T = "/v1/serviceAccounts/{ID}"


EXCHANGES = ("/v1/auth/sa/oauth/token", "/v1/auth/sts/token")


def events(api: Api, bearer: Any = None, exchanges: bool = False,
           **filters: str) -> list[dict[str, Any]]:
    """The events matching ``filters``; without the token exchanges that made the tokens the
    tests use (they carry the same ctx), unless ``exchanges``."""
    params = {"filterOps.accountID": api.emu.account_id, "limit": "1000", **filters}
    kwargs: dict[str, Any] = {} if bearer is None else {"bearer": bearer}
    got = api.call("GET", EVENTS, params=params, expect=200, **kwargs).json()["event"]
    return [e for e in got if exchanges or e["request"]["httpInfo"]["URI"] not in EXCHANGES]


def jti(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["jti"])


def test_a_request_is_recorded_with_who_what_and_the_tokens_ctx(api: Api, unique: str) -> None:
    token = api.emu.token(ctx=f"pulumi:proj/{unique}")
    sa = api.call("POST", "/v1/serviceAccounts", bearer=token, expect=200,
                  json_body={"serviceAccount": {"name": unique}}).json()
    [event] = events(api, **{"filterOps.context.bearerTokenContextID": f"pulumi:proj/{unique}"})
    admin = api.emu.admin_credentials["clientID"]
    assert event["accountID"] == api.emu.account_id
    assert event["context"]["actor"] == admin and event["context"]["actorType"] == "SERVICE_ACCOUNT"
    assert event["context"]["authMode"] == "SERVICE_ACCOUNT_JWT"
    assert event["context"]["jwtID"] == jti(token)
    assert event["context"]["requestID"]
    assert event["request"]["httpInfo"] == {"URI": "/v1/serviceAccounts", "method": "POST"}
    assert event["request"]["apiName"] == "/v1.ServiceAccountService/CreateServiceAccount"
    assert event["request"]["actionType"] == "CREATE"
    assert event["request"]["resourceType"] == "SERVICE_ACCOUNT"
    assert event["response"]["code"] == 200 and event["response"]["message"] == "success"
    assert set(event["resourceIDs"]) == {f"ACCOUNT/{api.emu.account_id}",
                                         f"SERVICE_ACCOUNT/{sa['clientID']}",
                                         f"KEY/{sa['keyID']}"}
    # never a secret: the private key the answer carried is not in the log
    assert sa["privateKey"] not in json.dumps(event) and "PRIVATE" not in json.dumps(event)


def test_key_role_policy_and_assignment_writes_name_their_objects(api: Api, unique: str) -> None:
    ctx = f"pulumi:ids/{unique}"
    token = api.emu.token(ctx=ctx)
    sa = api.create_sa(f"{unique}-jwt")["clientID"]
    ksa = api.create_sa(f"{unique}-api", apiKeyEnabled=True)["clientID"]
    key = api.call("POST", SA_T + "/keys", path={"ID": sa}, bearer=token, expect=200).json()
    ak = api.call("POST", SA_T + "/apikey", path={"ID": ksa}, bearer=token, expect=200).json()
    role = api.call("POST", "/v1/roles", bearer=token, expect=200, json_body={
        "roleDefinition": {"name": unique[:60], "permissions": []},
        "resource": {"ID": api.emu.vault_id, "type": "VAULT"}}).json()["ID"]
    api.call("POST", "/v1/roles/assign", bearer=token, expect=200, json_body={
        "ID": role, "members": [{"ID": sa, "type": "SERVICE_ACCOUNT"}]})
    got = {(e["request"]["httpInfo"]["method"], e["request"]["httpInfo"]["URI"]):
           e for e in events(api, **{"filterOps.context.bearerTokenContextID": ctx})}
    assert f"KEY/{key['keyID']}" in got[("POST", f"/v1/serviceAccounts/{sa}/keys")]["resourceIDs"]
    assert f"SERVICE_ACCOUNT/{sa}" in got[("POST", f"/v1/serviceAccounts/{sa}/keys")][
        "resourceIDs"]
    assert {f"SERVICE_ACCOUNT/{ksa}", f"KEY/{ak['apiKeyID']}"} <= set(
        got[("POST", f"/v1/serviceAccounts/{ksa}/apikey")]["resourceIDs"])
    created = got[("POST", "/v1/roles")]
    assert f"ROLE/{role}" in created["resourceIDs"]
    assert f"VAULT/{api.emu.vault_id}" in created["resourceIDs"]
    assert created["request"]["vaultID"] == api.emu.vault_id
    assigned = got[("POST", "/v1/roles/assign")]
    assert assigned["request"]["actionType"] == "ASSIGN"
    assert {f"ROLE/{role}", f"SERVICE_ACCOUNT/{sa}"} <= set(assigned["resourceIDs"])
    assert ak["apiKey"] not in json.dumps(list(got.values()))


def test_failed_requests_are_recorded_with_their_code_unauthenticated_ones_not(
        api: Api, unique: str) -> None:
    ctx = f"pulumi:fail/{unique}"
    token = api.emu.token(ctx=ctx)
    api.call("GET", SA_T, path={"ID": "0" * 32}, bearer=token, expect=404)
    api.call("POST", "/v1/serviceAccounts", bearer=token, expect=400,
             json_body={"serviceAccount": {}})
    nobody = api.create_sa(f"{unique}-nobody")
    weak = api.emu.token(nobody, ctx=ctx)
    api.call("GET", "/v1/serviceAccounts", bearer=weak, expect=403)
    api.call("GET", "/v1/serviceAccounts", bearer="not-a-token", expect=401)
    codes = sorted(e["response"]["code"]
                   for e in events(api, **{"filterOps.context.bearerTokenContextID": ctx}))
    assert codes == [400, 403, 404]
    refused = events(api, **{"filterOps.context.bearerTokenContextID": ctx,
                             "filterOps.responseCode": "403"})
    assert [e["context"]["actor"] for e in refused] == [nobody["clientID"]]
    assert "missing permission serviceAccount.read" in refused[0]["response"]["message"]


def test_filters_paging_and_order(api: Api, unique: str) -> None:
    ctx = f"pulumi:page/{unique}"
    token = api.emu.token(ctx=ctx)
    ids = [api.call("POST", "/v1/serviceAccounts", bearer=token, expect=200, json_body={
        "serviceAccount": {"name": f"{unique}-{i}"}}).json()["clientID"] for i in range(3)]
    api.call("GET", SA_T, path={"ID": ids[0]}, bearer=token, expect=200)
    # (resourceType: the token's own exchange, with the same ctx, is of type TOKEN)
    mine = {"filterOps.context.bearerTokenContextID": ctx,
            "filterOps.resourceType": "SERVICE_ACCOUNT"}
    assert len(events(api, **mine)) == 4
    assert len(events(api, exchanges=True, **{"filterOps.context.bearerTokenContextID": ctx})) \
        == 5
    posts = events(api, **mine, **{"filterOps.httpMethod": "POST"})
    assert [e["resourceIDs"][1] for e in posts] == [f"SERVICE_ACCOUNT/{i}" for i in ids]
    assert len(events(api, **mine, **{"filterOps.actionType": "READ"})) == 1
    assert len(events(api, **mine, **{"filterOps.actionType": "NONE"})) == 4  # the default: any
    assert len(events(api, **mine, **{"filterOps.httpURI": f"/v1/serviceAccounts/{ids[0]}"})) == 1
    both = events(api, **{"filterOps.resourceIDs": f"SERVICE_ACCOUNT/{ids[0]}, "
                                                   f"SERVICE_ACCOUNT/{ids[2]}"})
    assert {e["request"]["httpInfo"]["method"] for e in both} == {"POST", "GET"} and len(both) == 3
    assert events(api, **mine, **{"filterOps.context.jwtID": jti(token)}) == events(api, **mine)
    assert events(api, **mine, **{"filterOps.context.jwtID": "other"}) == []
    # limit/offset, descending order, afterOps
    page = api.call("GET", EVENTS, expect=200, params={
        "filterOps.accountID": api.emu.account_id, **mine, "limit": "2", "offset": "1"}).json()
    assert [e["resourceIDs"][1] for e in page["event"]] == [f"SERVICE_ACCOUNT/{i}"
                                                            for i in ids[1:]]
    assert page["nextOps"]["changeID"] == page["event"][-1]["context"]["changeID"]
    after = events(api, **mine, **{"afterOps.changeID": page["nextOps"]["changeID"]})
    assert [e["request"]["actionType"] for e in after] == ["READ"]
    newest = events(api, **mine, **{"sortOps.orderBy": "DESCENDING"})
    assert newest == list(reversed(events(api, **mine)))


def test_the_account_filter_is_required_and_the_permission_checked(api: Api,
                                                                   unique: str) -> None:
    r = api.call("GET", EVENTS, expect=400)
    assert "filterOps.accountID" in r.json()["error"]["message"]
    api.call("GET", EVENTS, params={"filterOps.accountID": "other"}, expect=400)
    viewer = api.create_sa(f"{unique}-viewer")
    api.assign(api.system_role("VAULT_VIEWER"), viewer["clientID"])
    r = api.call("GET", EVENTS, params={"filterOps.accountID": api.emu.account_id},
                 bearer=api.emu.token(viewer), expect=403)
    assert "missing permission audit.read" in r.json()["error"]["message"]


def test_an_object_ctx_is_kept_as_json_and_api_keys_have_none(api: Api, unique: str) -> None:
    token = api.emu.token(ctx={"stack": unique, "run": "1"})
    api.call("GET", "/v1/serviceAccounts", bearer=token, expect=200)
    wanted = json.dumps({"run": "1", "stack": unique}, separators=(",", ":"))
    [event] = events(api, **{"filterOps.context.bearerTokenContextID": wanted})
    assert event["request"]["actionType"] == "LIST"
    ksa = api.create_sa(f"{unique}-k", apiKeyEnabled=True)
    api.call("GET", SA_T, path={"ID": ksa["clientID"]}, bearer=ksa["apiKey"], expect=403)
    [by_key] = events(api, **{"filterOps.context.actor": ksa["clientID"]})
    assert by_key["context"]["bearerTokenContextID"] == "" and by_key["context"]["jwtID"] == ""
    assert by_key["context"]["authMode"] == "AUTH_NONE"


@pytest.mark.slow
def test_faults_are_not_served_a_dropped_answer_was_and_the_log_survives_a_restart(
        fresh_api: Api) -> None:
    api = fresh_api
    emu = api.emu
    token = emu.token(ctx="pulumi:fault/x")
    emu.set_faults(rate_503=1.0)
    api.call("GET", "/v1/serviceAccounts", bearer=token, expect=503)
    emu.set_faults(rate_503=0.0, rate_drop=1.0)
    with pytest.raises(Exception):  # noqa: B017,PT011 - the connection closes unanswered
        api.session.post(emu.url + "/v1/serviceAccounts", timeout=30,
                         headers=emu.headers(token), json={"serviceAccount": {"name": "dropped"}})
    emu.clear_faults()
    mine = {"filterOps.context.bearerTokenContextID": "pulumi:fault/x"}
    [dropped] = events(api, **mine)
    assert dropped["response"]["code"] == 200 and dropped["request"]["actionType"] == "CREATE"
    emu.restart(kill=True)
    api._admin = None
    assert events(api, **mine) == [dropped]


def test_a_token_exchange_is_recorded_as_the_identity_it_issued_to_without_the_assertion(
        api: Api, unique: str) -> None:
    """The JWT-bearer exchange authenticates by its assertion, not a bearer token: it is
    recorded once it issued, under the account and ctx of the token it issued (its jti), with
    that account's id; never the assertion or the token."""
    sa = api.create_sa(f"{unique}-x")
    ctx = f"pulumi:exchange/{unique}"
    assertion = api.emu.assertion(sa, ctx=ctx)
    r = api.emu.exchange(assertion)
    assert r.status_code == 200, r.text
    token = r.json()["accessToken"]
    [event] = events(api, exchanges=True,
                     **{"filterOps.context.bearerTokenContextID": ctx})
    assert event["request"]["httpInfo"] == {"URI": EXCHANGES[0], "method": "POST"}
    assert event["request"]["apiName"] == "/v1.AuthenticationService/GetAuthToken"
    assert event["request"]["resourceType"] == "TOKEN"
    assert event["context"]["actor"] == sa["clientID"]
    assert event["context"]["jwtID"] == jti(token)
    assert set(event["resourceIDs"]) == {f"ACCOUNT/{api.emu.account_id}",
                                         f"SERVICE_ACCOUNT/{sa['clientID']}"}
    text = json.dumps(event)
    assert assertion not in text and token not in text
    assert assertion.split(".")[2] not in text and token.split(".")[2] not in text
    # a refused exchange names nobody it could trust: not recorded
    bad = api.emu.exchange(api.emu.assertion(sa, ctx=ctx, exp_in=-60))
    assert bad.status_code == 401
    assert len(events(api, exchanges=True,
                      **{"filterOps.context.bearerTokenContextID": ctx})) == 1
