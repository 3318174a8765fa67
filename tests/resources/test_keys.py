"""Credential keys (resources/keys.py): credentials_json is byte-identical and does not parse
the key.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import skyflow_provider.auth.credentials as creds_mod
from skyflow_provider.auth.credentials import credentials_from_dict
from skyflow_provider.resources import role_lookup as role_mod
from skyflow_provider.resources.keys import credentials_json


@pytest.fixture(autouse=True)
def _empty_role_cache():
    role_mod._ROLE_ID_CACHE.clear()
    yield
    role_mod._ROLE_ID_CACHE.clear()


# ----- fix 2: credentials.json without parsing the new key ---------------------------------------
def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.mark.parametrize("pad", ["", "  "])
def test_credentials_json_is_byte_identical_and_does_not_parse_the_key(monkeypatch, pad) -> None:
    resp = {"clientID": pad + "c1" + pad, "clientName": "n \u00e9", "tokenURI":
            "https://manage.example.com/v1/auth/sa/oauth/token" + pad, "keyID": "k1" + pad,
            "privateKey": _pem(), "keyValidAfterTime": "2026-01-01T00:00:00Z",
            "keyValidBeforeTime": "2027-01-01T00:00:00Z", "keyAlgorithm": "KEY_ALG_RSA_2048",
            "apiKeyID": "", "apiKey": ""}
    expected = credentials_from_dict(resp).to_json()

    def boom(*_a, **_k):
        raise AssertionError("the private key was parsed")

    monkeypatch.setattr(creds_mod, "_load_private_key", boom)
    monkeypatch.setattr(serialization, "load_pem_private_key", boom)
    assert credentials_json(resp) == expected

