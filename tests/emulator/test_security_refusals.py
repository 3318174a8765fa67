"""Issue 8: refusals the other emulator tests did not cover yet.

Already covered elsewhere: tokens of deleted accounts (test_tokens), assertions signed by a
rotated key (test_keys), rotated-away API keys (test_keys), scoped tokens beyond their roles
(test_authorization), a wrong X-Skyflow-Account-ID (test_tokens), expired assertions
(test_tokens). Here: assertions signed by a *deleted* key, *deleted* API keys, an assertion that
was accepted once and is replayed after it expired, and a token minted for one account id used
with another.
"""

from __future__ import annotations

import time

from .conftest import Api

KEYS = "/v1/serviceAccounts/{ID}/keys"
KEY = "/v1/serviceAccounts/{ID}/keys/{keyID}"
APIKEYS = "/v1/serviceAccounts/{ID}/apikey"
APIKEY = "/v1/serviceAccounts/{ID}/apikey/{keyID}"
LEEWAY = 60  # the emulator's clock-skew leeway on exp (token_endpoint.LEEWAY)


def _is_refused(r, status: int = 401) -> None:
    assert r.status_code == status, r.text
    assert r.json()["error"]["http_code"] == status


def test_assertion_signed_by_a_deleted_key_is_refused(api: Api, unique: str) -> None:
    creds = api.create_sa(unique)
    second = api.call("POST", KEYS, path={"ID": creds["clientID"]}, expect=200).json()
    assert api.token_for(second)
    api.call("DELETE", KEY, path={"ID": creds["clientID"], "keyID": second["keyID"]},
             expect=200)
    _is_refused(api.emu.exchange(api.emu.assertion(second)))
    assert api.token_for(creds)  # the other key is untouched


def test_deleted_api_key_is_refused(api: Api, unique: str) -> None:
    creds = api.create_sa(unique, apiKeyEnabled=True)
    api.assign(api.system_role("ACCOUNT_ADMIN"), creds["clientID"])
    extra = api.call("POST", APIKEYS, path={"ID": creds["clientID"]}, expect=200).json()
    api.call("GET", "/v1/serviceAccounts", bearer=extra["apiKey"], expect=200)
    api.call("DELETE", APIKEY, path={"ID": creds["clientID"], "keyID": extra["apiKeyID"]},
             expect=200)
    _is_refused(api.call("GET", "/v1/serviceAccounts", bearer=extra["apiKey"]))
    api.call("GET", "/v1/serviceAccounts", bearer=creds["apiKey"], expect=200)


def test_assertion_replayed_after_it_expired_is_refused(api: Api, unique: str) -> None:
    creds = api.create_sa(unique)
    # exp lies in the past but within the leeway: accepted now, expired a few seconds later.
    assertion = api.emu.assertion(creds, exp_in=3 - LEEWAY)
    first = api.emu.exchange(assertion)
    assert first.status_code == 200, first.text
    time.sleep(4.5)
    _is_refused(api.emu.exchange(assertion))


def test_token_used_with_another_account_id_is_refused(api: Api, unique: str) -> None:
    creds = api.create_sa(unique)
    api.assign(api.system_role("ACCOUNT_ADMIN"), creds["clientID"])
    token = api.token_for(creds)
    api.call("GET", "/v1/serviceAccounts", bearer=token, expect=200)
    for other in ("b" * 32, api.emu.account_id[:-1] + "x", api.emu.account_id.upper()):
        if other == api.emu.account_id:
            continue
        _is_refused(api.call("GET", "/v1/serviceAccounts", bearer=token, account=other))
