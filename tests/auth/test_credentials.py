"""Credentials parsing: every malformed input is a CredentialsError naming the field."""

from __future__ import annotations

import json
import pickle
import traceback
from pathlib import Path
from typing import Any

import pytest

from skyflow_provider.auth.credentials import (
    Credentials,
    credentials_from_env,
    load_credentials,
)
from skyflow_provider.http.errors import CredentialsError
from tests.fakes import creds_dict, ec_pem, pkcs1_pem, rsa_key


def _assert_no_key(text: str, pem: str) -> None:
    body = "".join(pem.strip().splitlines()[1:-1])
    assert body[:40] not in text
    for line in pem.strip().splitlines()[1:-1]:
        assert line not in text


def test_round_trip_to_json_reproduces_credentials_json() -> None:
    d = creds_dict()
    c = load_credentials(json.dumps(d))
    assert json.loads(c.to_json()) == d
    assert list(json.loads(c.to_json())) == list(d)  # Skyflow's field order
    assert load_credentials(c.to_json()) == c


def test_sources_file_text_dict_path(tmp_path: Path) -> None:
    d = creds_dict()
    f = tmp_path / "credentials.json"
    f.write_text(json.dumps(d, indent=2))
    assert load_credentials(str(f)) == load_credentials(f) == load_credentials(d)
    assert load_credentials(json.dumps(d, indent=2)).client_id == d["clientID"]


def test_raw_newlines_inside_pem_string_accepted() -> None:
    # Skyflow's SDK tolerates credentials text where the PEM has literal newlines.
    d = creds_dict()
    text = json.dumps(d).replace("\\n", "\n")
    assert load_credentials(text).private_key == d["privateKey"]


def test_snake_case_aliases_like_the_sdk() -> None:
    d = creds_dict()
    snake = {"client_id": d["clientID"], "key_id": d["keyID"], "token_uri": d["tokenURI"],
             "private_key": d["privateKey"]}
    assert load_credentials(snake).client_id == d["clientID"]


def test_pkcs1_rsa_key_accepted() -> None:
    d = creds_dict()
    d["privateKey"] = pkcs1_pem(rsa_key())
    assert load_credentials(d).key_id == d["keyID"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "127.0.0.2"])
def test_loopback_http_token_uri_allowed(host: str) -> None:
    d = creds_dict(token_uri=f"http://{host}:8080/v1/auth/sa/oauth/token")
    assert load_credentials(d).token_uri.startswith("http://")


def _mut(**changes: Any) -> str:
    d: dict[str, Any] = creds_dict()
    for k, v in changes.items():
        if v is _DROP:
            d.pop(k)
        else:
            d[k] = v
    return json.dumps(d)


_DROP = object()
_CASES: list[tuple[str, Any, str | None, str]] = [
    ("not-json", "{not json", None, "not valid JSON"),
    ("empty-string", "   ", None, "empty"),
    ("json-array", "[1, 2]", None, "JSON object"),
    ("json-string", '"hello"', None, "JSON object"),
    ("json-number-dict", json.dumps(5), None, "JSON object"),
    ("truncated", _mut()[:-40], None, "not valid JSON"),
    ("missing-clientID", _mut(clientID=_DROP), "clientID", "missing field 'clientID'"),
    ("missing-keyID", _mut(keyID=_DROP), "keyID", "missing field 'keyID'"),
    ("missing-tokenURI", _mut(tokenURI=_DROP), "tokenURI", "missing field 'tokenURI'"),
    ("missing-privateKey", _mut(privateKey=_DROP), "privateKey", "missing field 'privateKey'"),
    ("null-clientID", _mut(clientID=None), "clientID", "missing field"),
    ("int-clientID", _mut(clientID=42), "clientID", "must be a string"),
    ("list-keyID", _mut(keyID=["a"]), "keyID", "must be a string"),
    ("dict-privateKey", _mut(privateKey={"k": "v"}), "privateKey", "must be a string"),
    ("int-clientName", _mut(clientName=7), "clientName", "must be a string"),
    ("bool-keyAlgorithm", _mut(keyAlgorithm=True), "keyAlgorithm", "must be a string"),
    ("empty-clientID", _mut(clientID=""), "clientID", "empty"),
    ("blank-keyID", _mut(keyID="  "), "keyID", "empty"),
    ("key-not-pem", _mut(privateKey="just some text"), "privateKey", "not a PEM"),
    ("key-garbled-pem", _mut(privateKey="-----BEGIN PRIVATE KEY-----\nAAAA\n"
                             "-----END PRIVATE KEY-----\n"), "privateKey", "privateKey"),
    ("key-public-pem", _mut(privateKey="-----BEGIN PUBLIC KEY-----\nAAAA\n"
                            "-----END PUBLIC KEY-----\n"), "privateKey", "not a PEM"),
    ("key-ec", _mut(privateKey=ec_pem()), "privateKey", "not an RSA key"),
    ("key-truncated", _mut(privateKey=creds_dict()["privateKey"][:300]), "privateKey",
     "privateKey"),
    ("uri-http-remote", _mut(tokenURI="http://manage.skyflowapis.com/v1/auth/sa/oauth/token"),
     "tokenURI", "only https"),
    ("uri-ftp", _mut(tokenURI="ftp://example.com/x"), "tokenURI", "https"),
    ("uri-no-host", _mut(tokenURI="https:///v1/auth"), "tokenURI", "https"),
    ("uri-not-url", _mut(tokenURI="not a url"), "tokenURI", "https"),
    ("uri-bad-port", _mut(tokenURI="https://h:99999999/x"), "tokenURI", "tokenURI"),
    ("uri-int", _mut(tokenURI=443), "tokenURI", "must be a string"),
]


@pytest.mark.parametrize("text,field,fragment", [c[1:] for c in _CASES],
                         ids=[c[0] for c in _CASES])
def test_malformed_credentials(text: str, field: str | None, fragment: str) -> None:
    pem = creds_dict()["privateKey"]
    with pytest.raises(CredentialsError) as info:
        load_credentials(text)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.field == field
    assert fragment in str(err)
    # never a library traceback: the error is not chained to a library exception
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)
    rendered = "".join(traceback.format_exception(err)) + repr(err) + str(err)
    _assert_no_key(rendered, pem)


def test_number_input_rejected() -> None:
    with pytest.raises(CredentialsError, match="got int"):
        load_credentials(5)


@pytest.mark.parametrize("kind", ["missing", "directory", "not-utf8", "bad-json"])
def test_file_errors(tmp_path: Path, kind: str) -> None:
    p = tmp_path / "credentials.json"
    if kind == "directory":
        p.mkdir()
    elif kind == "not-utf8":
        p.write_bytes(b"\xff\xfe\x00garbage")
    elif kind == "bad-json":
        p.write_text("{")
    with pytest.raises(CredentialsError) as info:
        load_credentials(p)
    assert str(p) in str(info.value)


def test_repr_str_and_pickle_hide_the_key() -> None:
    d = creds_dict()
    c = load_credentials(d)
    for text in (repr(c), str(c), f"{c}", f"{c!r}"):
        _assert_no_key(text, d["privateKey"])
        assert "PRIVATE KEY" not in text
    with pytest.raises(TypeError, match="must not be pickled"):
        pickle.dumps(c)


def test_from_env(tmp_path: Path) -> None:
    d = creds_dict()
    assert credentials_from_env({}) is None
    assert credentials_from_env({"SKYFLOW_CREDENTIALS": json.dumps(d)}) == load_credentials(d)
    f = tmp_path / "c.json"
    f.write_text(json.dumps(d))
    assert credentials_from_env({"SKYFLOW_CREDENTIALS_FILE": str(f)}) == load_credentials(d)
    with pytest.raises(CredentialsError, match="SKYFLOW_CREDENTIALS"):
        credentials_from_env({"SKYFLOW_CREDENTIALS": "{oops"})


def test_credentials_is_frozen() -> None:
    c = load_credentials(creds_dict())
    with pytest.raises(AttributeError):
        c.client_id = "x"  # type: ignore[misc]
    assert isinstance(c, Credentials)
