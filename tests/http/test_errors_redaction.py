"""Error rendering and redaction: secrets never reach a message, repr or log line."""

from __future__ import annotations

import json
import logging
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skyflow_provider.http.errors import (
    ConflictError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    SkyflowError,
    UnauthenticatedError,
    class_for_status,
)
from skyflow_provider.http.redaction import REDACTED, redact_body, redact_headers, redact_text
from tests.fakes import creds_dict, issue_token
from tests.helpers.secrets_scan import assert_no_secret_hits

API_KEY = "sky-ab12C-0123456789abcdef0123456789abcdef"


def test_error_message_has_all_parts() -> None:
    e = NotFoundError("read service account abc failed", status=404, grpc_code=5,
                      skyflow_message="service account not found", request_id="req-123",
                      operation="read service account", target="abc")
    text = str(e)
    for part in ("read service account abc failed", "Skyflow said: service account not found",
                 "HTTP 404", "grpc_code 5", "request id req-123", "pulumi refresh"):
        assert part in text
    assert e.status == 404 and e.request_id == "req-123" and e.target == "abc"
    again = pickle.loads(pickle.dumps(e))
    assert str(again) == text and isinstance(again, NotFoundError)


@pytest.mark.parametrize("status,cls", [(400, "InvalidArgumentError"),
                                        (401, "UnauthenticatedError"),
                                        (403, "PermissionDeniedError"), (404, "NotFoundError"),
                                        (409, "ConflictError"), (429, "RateLimitedError"),
                                        (500, "ServerError"), (503, "ServerError"),
                                        (418, "SkyflowError")])
def test_status_mapping(status: int, cls: str) -> None:
    assert class_for_status(status).__name__ == cls
    assert issubclass(class_for_status(status), SkyflowError)


def test_server_echoed_secrets_are_redacted() -> None:
    d = creds_dict()
    tok = issue_token()
    opaque = "opaque_TOKEN_value-0123456789"
    msg = f"bad key {d['privateKey']} token {tok} api {API_KEY} Authorization: Bearer {opaque}"
    for e in (UnauthenticatedError("x", skyflow_message=msg), ConflictError(msg),
              RateLimitedError("y", skyflow_message=msg), ServerError(msg)):
        for text in (str(e), repr(e)):
            assert "MII" not in text and tok not in text and API_KEY not in text
            assert opaque not in text and REDACTED in text
            assert_no_secret_hits({"key": d["privateKey"], "token": tok, "api key": API_KEY,
                                   "opaque token": opaque}, min_secrets=4,
                                  texts={type(e).__name__: text})


def test_redact_helpers() -> None:
    d = creds_dict()
    body = {"clientID": "c", "privateKey": d["privateKey"], "apiKey": API_KEY,
            "nested": [{"accessToken": "zzz"}], "note": "Bearer qqq_opaque_token_1234"}
    out = redact_body(json.dumps(body))
    assert "MII" not in out and API_KEY not in out and "zzz" not in out and "qqq" not in out
    assert_no_secret_hits({"key": d["privateKey"], "api key": API_KEY}, min_secrets=2,
                          texts={"redact_body": out})
    assert '"clientID": "c"' in out
    hdrs = redact_headers({"Authorization": "Bearer x", "X-Skyflow-Account-ID": "acc",
                           "X-Api-Key": "k"})
    assert hdrs == {"Authorization": REDACTED, "X-Skyflow-Account-ID": "acc",
                    "X-Api-Key": REDACTED}
    escaped = json.dumps({"k": d["privateKey"]})  # PEM with \n escapes inside JSON text
    assert "MII" not in redact_text(escaped)
    assert redact_text("nothing secret here") == "nothing secret here"


def test_redaction_of_extra_secrets() -> None:
    assert "s3cr3t-value" not in redact_text("x s3cr3t-value y", ["s3cr3t-value"])


def test_logging_never_sees_secrets(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("t").debug("body=%s", redact_body({"privateKey": "-----BEGIN"}))
    assert "BEGIN" not in caplog.text


def test_prose_about_tokens_is_kept() -> None:
    text = "The bearer token has expired; generate a new bearer token."
    assert redact_text(text) == text


_SECRETS = [creds_dict()["privateKey"], issue_token(), API_KEY,
            creds_dict()["privateKey"][:400]]  # a truncated PEM too
_FILLER = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=200, deadline=None)
@given(prefix=_FILLER, suffix=_FILLER, which=st.integers(0, len(_SECRETS) - 1),
       as_json=st.booleans())
def test_secret_never_survives_redaction(prefix: str, suffix: str, which: int,
                                         as_json: bool) -> None:
    secret = _SECRETS[which]
    text = prefix + (json.dumps({"x": secret}) if as_json else secret) + suffix
    outputs = {"redact_text": redact_text(text)}
    if not as_json:
        outputs["ServerError"] = str(ServerError("failed", skyflow_message=text))
    # Every line of a key's body (the DER header line too), not just one of them...
    parts = [ln for ln in secret.strip().splitlines() if not ln.startswith("-----")]
    for where, out in outputs.items():
        leaked = [i for i, part in enumerate(parts) if part in out]
        assert leaked == [], f"{where}: part(s) {leaked} of the secret survived"
    # ...and the secret in any encoding the scanner knows.
    assert_no_secret_hits({"secret": secret}, min_secrets=1, texts=outputs)
