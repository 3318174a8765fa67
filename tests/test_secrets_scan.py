"""The secret scanner must find what it is meant to find, or its zero-hit results mean nothing."""

import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.helpers.secrets_scan import scan


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_finds_private_key_inside_json_escaped_text(tmp_path):
    pem = _pem()
    state = {"credentials": json.dumps({"privateKey": pem})}
    (tmp_path / "state.json").write_text(json.dumps(state))
    hits = scan({"pk": pem}, [tmp_path])
    assert [h.secret_label for h in hits] == ["pk"]


def test_finds_api_key_and_reports_zero_for_clean_files(tmp_path):
    api_key = "sky-ab12c-" + "0123456789abcdef" * 2
    (tmp_path / "clean.txt").write_text("nothing to see")
    assert scan({"k": api_key}, [tmp_path]) == []
    hits = scan({"k": api_key}, [tmp_path], texts={"stdout": f"key={api_key[10:]}"})
    assert len(hits) == 1 and hits[0].where == "stdout"
