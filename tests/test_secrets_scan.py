"""The secret scanner must find what it is meant to find, or its zero-hit results mean nothing.

Each leak below is built here independently of the scanner (json, base64, pickle, urllib),
planted once in a file under a scan root and once in a captured output, and must be found under
the right label; the same leaks of a *different* key of the same kind must not be reported.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import pickle
import socket
import textwrap
from collections.abc import Callable
from functools import partial
from pathlib import Path
from urllib.parse import quote, urlencode

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.helpers.secrets_scan import (
    MIN_SECRET_LENGTH,
    UnscannableSecret,
    assert_no_secret_hits,
    needles,
    scan,
    scan_report,
)


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwt(key: rsa.RSAPrivateKey) -> str:
    return jwt.encode({"iss": "client-1", "sub": "client-1", "aud": "https://x/token",
                       "exp": 2_000_000_000}, key, algorithm="RS256")


def _api_key() -> str:
    return f"sky-ab12c-{os.urandom(16).hex()}"


# One secret of each kind, and a second one of the same kind that must never be reported.
KINDS: dict[str, Callable[[], str]] = {
    "rsa private key": lambda: _pem(_rsa()),
    "ec private key": lambda: _pem(ec.generate_private_key(ec.SECP256R1())),
    "bearer token (JWT)": lambda: _jwt(_rsa()),
    "api key": _api_key,
    "opaque session token": lambda: base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="),
}


@pytest.fixture(scope="module")
def secrets_of_each_kind() -> dict[str, tuple[str, str]]:
    return {kind: (make(), make()) for kind, make in KINDS.items()}


def _b64(data: bytes, urlsafe: bool = False) -> str:
    return (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode()


def _credentials(secret: str) -> str:
    return json.dumps({"clientID": "c1", "keyID": "k1", "privateKey": secret,
                       "tokenURI": "https://manage.example/v1/auth/sa/oauth/token"})


def _b64_after(before: bytes, after: bytes, urlsafe: bool, secret: str) -> str:
    return _b64(before + secret.encode() + after, urlsafe)


def _b64_credentials(before: bytes, secret: str) -> str:
    return _b64(before + _credentials(secret).encode())


def _b64_pickled(protocol: int, secret: str) -> str:
    return _b64(pickle.dumps({"__provider": "x", "private_key": secret}, protocol=protocol))


def _rewrapped(secret: str, width: int) -> str:
    lines = secret.strip().splitlines()
    if not lines[0].startswith("-----"):
        return secret
    body = "".join(lines[1:-1])
    return "\n".join([lines[0], *textwrap.wrap(body, width), lines[-1]])


# How a leak would carry the secret. Each returns the text a log line or a file would hold.
LEAKS: dict[str, Callable[[str], str]] = {
    "raw": lambda s: f"debug: value={s} end",
    "inside credentials.json": lambda s: f"config {_credentials(s)}",
    "JSON with escaped slashes": lambda s: _credentials(s).replace("/", "\\/"),
    "JSON inside JSON (state)": lambda s: json.dumps({"outputs": {"credentials": _credentials(s)}}),
    "PEM re-wrapped at 76 columns": lambda s: _rewrapped(s, 76),
    "PEM body on one line": lambda s: "".join(s.strip().splitlines()[1:-1]) or s,
    "one line of the body or a signature": lambda s: (
        s.strip().splitlines()[len(s.strip().splitlines()) // 2] if "-----" in s
        else s.rsplit(".", 1)[-1] if s.startswith("eyJ")
        else s.rsplit("-", 1)[-1] if s.startswith("sky-") else s),
    "percent-encoded in a query": lambda s: "https://x/cb?" + urlencode({"credentials": s}),
    "percent-encoded credentials.json": lambda s: "body=" + quote(_credentials(s), safe=""),
    "lower-case percent-encoding": lambda s: quote(s, safe="").replace("%2F", "%2f")
    .replace("%2B", "%2b").replace("%0A", "%0a").replace("%3D", "%3d"),
    "hex": lambda s: "bytes " + s.encode().hex(),
    **{f"base64 at offset {n}": partial(_b64_after, b"x" * n, b"tail", False) for n in (0, 1, 2)},
    **{f"URL-safe base64 at offset {n}": partial(_b64_after, b"yy" * n, b"!", True)
       for n in (0, 1, 2)},
    **{f"base64 of credentials.json after {n} bytes": partial(_b64_credentials, b"{" * n)
       for n in (0, 1, 2)},
    "URL-safe base64 of credentials.json": lambda s: _b64(_credentials(s).encode(), True),
    **{f"base64 of a pickled provider (protocol {n})": partial(_b64_pickled, n)
       for n in (0, 2, 5)},
}


@pytest.mark.parametrize("leak", list(LEAKS))
@pytest.mark.parametrize("kind", list(KINDS))
def test_scanner_finds_each_leak_in_a_file_and_in_an_output(
        tmp_path: Path, secrets_of_each_kind: dict[str, tuple[str, str]], kind: str,
        leak: str) -> None:
    secret, other = secrets_of_each_kind[kind]
    planted = LEAKS[leak](secret)
    assert planted != LEAKS[leak](other)
    nested = tmp_path / "backend" / ".pulumi" / "history"
    nested.mkdir(parents=True)
    (nested / "dev-1.history.json").write_text(f"prefix\n{planted}\nsuffix\n")
    (tmp_path / "clean.txt").write_text("nothing to see\n")

    in_file = scan_report({kind: secret}, roots=[tmp_path])
    assert [(Path(h.where).name, h.secret_label) for h in in_file.hits] == \
        [("dev-1.history.json", kind)], in_file.hits
    assert in_file.files == 2 and in_file.secrets == 1

    in_output = scan_report({kind: secret}, texts={"#0 pulumi up stderr": planted,
                                                   "#0 pulumi up stdout": "ok"})
    assert [(h.where, h.secret_label) for h in in_output.hits] == \
        [("#0 pulumi up stderr", kind)]
    # The form is described, the secret itself is never part of a hit.
    assert all(secret not in repr(h) for h in in_output.hits)


@pytest.mark.parametrize("kind", list(KINDS))
def test_scanner_does_not_flag_another_secret_of_the_same_kind(
        tmp_path: Path, secrets_of_each_kind: dict[str, tuple[str, str]], kind: str) -> None:
    secret, other = secrets_of_each_kind[kind]
    leaks = {name: make(other) for name, make in LEAKS.items()}
    (tmp_path / "all.txt").write_text("\n".join(leaks.values()))
    report = scan_report({kind: secret}, roots=[tmp_path], texts=leaks)
    assert report.hits == []
    assert report.texts == len(LEAKS) and report.files == 1
    # ...while the other secret is found in every one of them (the control).
    control = scan_report({"other": other}, texts=leaks)
    assert sorted(h.where for h in control.hits) == sorted(leaks)


def test_needles_of_two_keys_share_no_fragment(
        secrets_of_each_kind: dict[str, tuple[str, str]]) -> None:
    """The shared PEM header, the RSA-2048 DER prefix and a JWT's header are no needle."""
    for kind, (secret, other) in secrets_of_each_kind.items():
        mine, theirs = needles(secret, kind), needles(other, kind)
        assert not [n for n in mine if any(n in t or t in n for t in theirs)], kind
        assert all(len(n) >= MIN_SECRET_LENGTH for n in mine)
    common = ["-----BEGIN PRIVATE KEY-----", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
              _b64(b"-----BEGIN PRIVATE KEY-----"), "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"]
    rsa_key = secrets_of_each_kind["rsa private key"][0]
    token = secrets_of_each_kind["bearer token (JWT)"][0]
    assert scan({"key": rsa_key, "token": token}, texts={"common": "\n".join(common)}) == []


@pytest.mark.parametrize("value,why", [
    ("", "shorter than"),
    ("abc123", "shorter than"),
    ("x" * 15, "shorter than"),
    ("ab" * 20, "distinct characters"),
    (None, "expected the secret's text"),
])
def test_refuses_a_secret_it_cannot_make_a_needle_for(tmp_path: Path, value: object,
                                                      why: str) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(UnscannableSecret, match=why):
        scan({"s": value}, roots=[tmp_path])  # type: ignore[dict-item]
    with pytest.raises(UnscannableSecret, match="nothing proves nothing"):
        scan({}, roots=[tmp_path])


def test_missing_root_and_unreadable_file_fail_the_scan(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = _api_key()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        scan({"k": key}, roots=[tmp_path / "no-such-backend"])
    with pytest.raises(ValueError, match="without any file or text"):
        scan({"k": key})
    (tmp_path / "state.json").write_text("{}")

    def unreadable(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    # Running as root, chmod 000 would not stop the read; the OSError is what matters.
    monkeypatch.setattr(Path, "read_bytes", unreadable)
    with pytest.raises(PermissionError):
        scan({"k": key}, roots=[tmp_path])


def test_finds_a_secret_inside_a_gzip_compressed_log(tmp_path: Path) -> None:
    """The CLI writes each command's log gzip-compressed into PULUMI_HOME/logs."""
    key = _pem(_rsa())
    line = json.dumps({"msg": "Unmarshaling property", "value": key}).encode()
    (tmp_path / "whole.log").write_bytes(gzip.compress(b"a" * 70000 + line))
    (tmp_path / "second-member.log").write_bytes(gzip.compress(b"start\n") + gzip.compress(line))
    cut = gzip.compress(line + os.urandom(200000).hex().encode())
    (tmp_path / "cut-off.log").write_bytes(cut[: len(cut) // 2])
    (tmp_path / "other.log").write_bytes(gzip.compress(json.dumps({"v": _pem(_rsa())}).encode()))
    hits = scan({"key": key}, roots=[tmp_path])
    assert sorted(Path(h.where).name for h in hits) == [
        "cut-off.log (gunzipped)", "second-member.log (gunzipped)", "whole.log (gunzipped)"]


def test_non_regular_files_are_listed_not_read(tmp_path: Path) -> None:
    key = _api_key()
    (tmp_path / "leak.log").write_text(key)
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "sock"))
        report = scan_report({"k": key}, roots=[tmp_path])
    assert [h.where for h in report.hits] == [str(tmp_path / "leak.log")]
    assert sorted(Path(p).name for p in report.skipped) == ["dangling", "fifo", "sock"]


def test_assert_no_secret_hits_checks_the_count_and_reports_what_it_read(tmp_path: Path) -> None:
    a, b = _api_key(), _api_key()
    (tmp_path / "state.json").write_text(json.dumps({"ciphertext": "v1:abc"}))
    report = assert_no_secret_hits({"a": a, "b": b}, min_secrets=2, roots=[tmp_path],
                                   texts={"out": "done"})
    assert (report.secrets, report.files, report.texts) == (2, 1, 1)
    assert report.bytes == len(json.dumps({"ciphertext": "v1:abc"})) + len("done")
    # A lookup that found fewer secrets than were generated fails instead of passing.
    with pytest.raises(AssertionError, match="expected at least 3"):
        assert_no_secret_hits({"a": a, "b": b}, min_secrets=3, roots=[tmp_path])
    # A hit fails, naming the label, the place and the form but not the secret.
    with pytest.raises(AssertionError) as info:
        assert_no_secret_hits({"a": a}, min_secrets=1, texts={"stderr": f"key {a}"})
    message = str(info.value)
    assert "a in stderr" in message and "whole value, raw" in message
    assert a not in message and a.rsplit("-", 1)[-1] not in message
