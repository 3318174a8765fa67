"""Our assertion and request body match what Skyflow's official Python SDK sends.

Method: both clients post to the same local HTTPS recorder (a private test CA, trusted via
SSL_CERT_FILE for the SDK's httpx and via ca_bundle for us). Nothing in the SDK is patched;
we decode both recorded assertions and compare every claim but ``exp``, the JOSE header,
and the body fields. The emulator-backed test in test_emulator_integration.py also checks
that the SDK's assertion is accepted by the emulator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from skyflow_provider.auth.tokens import generate_bearer_token, generate_bearer_token_from_creds
from tests.fakes import Recorded, ScriptedServer, creds_dict, issue_token, make_local_ca
from tests.helpers.prerequisites import INSTALL_SDK, require_module

sdk_sa = require_module("skyflow.service_account", INSTALL_SDK)


@pytest.fixture
def recorder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedServer]:
    ca = make_local_ca(tmp_path / "ca")

    def handler(rec: Recorded) -> tuple[int, dict[str, str], Any]:
        return 200, {}, {"accessToken": issue_token(3600), "tokenType": "Bearer"}

    srv = ScriptedServer(tls=ca, handler=handler).start()
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.ca_pem))
    srv.ca = ca  # type: ignore[attr-defined]
    yield srv
    srv.stop()


def _decode(rec: Recorded) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    body = rec.json()
    a = body["assertion"]
    return body, jwt.get_unverified_header(a), jwt.decode(a, options={"verify_signature": False})


@pytest.mark.parametrize("options", [
    None,
    {"ctx": "user_42"},
    {"ctx": {"user_id": "u1", "region": "eu"}},
    {"role_ids": ["r1"]},
    {"role_ids": ["r1", "r2"], "ctx": "c"},
    {"ctx": ""},
], ids=["plain", "ctx-string", "ctx-object", "one-role", "roles-and-ctx", "ctx-empty"])
def test_same_claims_header_and_body_as_sdk(recorder: ScriptedServer, tmp_path: Path,
                                            options: dict[str, Any] | None) -> None:
    creds = creds_dict(token_uri=recorder.url + "/v1/auth/sa/oauth/token")
    text = json.dumps(creds)
    ca = str(recorder.ca.ca_pem)  # type: ignore[attr-defined]

    sdk_token, sdk_type = sdk_sa.generate_bearer_token_from_creds(text, options)
    our_token, our_type = generate_bearer_token_from_creds(text, options, ca_bundle=ca)
    assert (sdk_type, our_type) == ("Bearer", "Bearer")
    assert len(recorder.requests) == 2
    sdk_rec, our_rec = recorder.requests
    assert sdk_rec.path == our_rec.path == "/v1/auth/sa/oauth/token"
    assert sdk_rec.method == our_rec.method == "POST"
    sdk_body, sdk_hdr, sdk_claims = _decode(sdk_rec)
    our_body, our_hdr, our_claims = _decode(our_rec)

    assert set(sdk_claims) == set(our_claims)
    assert abs(sdk_claims["exp"] - our_claims["exp"]) <= 5
    sdk_claims.pop("exp")
    our_claims.pop("exp")
    assert our_claims == sdk_claims
    assert our_hdr == sdk_hdr  # {"alg": "RS256", "typ": "JWT"}
    # Body: same fields (the SDK may send explicit nulls for absent optional fields).
    sdk_fields = {k: v for k, v in sdk_body.items() if v is not None and k != "assertion"}
    our_fields = {k: v for k, v in our_body.items() if v is not None and k != "assertion"}
    assert our_fields == sdk_fields
    assert sdk_rec.headers.get("content-type", sdk_rec.headers.get("Content-Type", "")) \
        .startswith("application/json")


def test_file_variant_same_as_sdk(recorder: ScriptedServer, tmp_path: Path) -> None:
    creds = creds_dict(token_uri=recorder.url + "/v1/auth/sa/oauth/token")
    f = tmp_path / "credentials.json"
    f.write_text(json.dumps(creds, indent=2))
    sdk_sa.generate_bearer_token(str(f), {"ctx": "abc"})
    generate_bearer_token(str(f), {"ctx": "abc"},
                          ca_bundle=str(recorder.ca.ca_pem))  # type: ignore[attr-defined]
    (_, _, a), (_, _, b) = (_decode(r) for r in recorder.requests)
    a.pop("exp")
    b.pop("exp")
    assert a == b


def test_token_uri_option_same_as_sdk(recorder: ScriptedServer) -> None:
    # The option overrides both the audience and the host posted to, as in the SDK.
    creds = creds_dict(token_uri="https://manage.skyflowapis.com/v1/auth/sa/oauth/token")
    uri = recorder.url + "/v1/auth/sa/oauth/token"
    sdk_sa.generate_bearer_token_from_creds(json.dumps(creds), {"token_uri": uri})
    generate_bearer_token_from_creds(json.dumps(creds), {"token_uri": uri},
                                     ca_bundle=str(recorder.ca.ca_pem))  # type: ignore[attr-defined]
    (_, _, a), (_, _, b) = (_decode(r) for r in recorder.requests)
    assert a["aud"] == b["aud"] == uri
