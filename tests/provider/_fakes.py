"""Test-only stand-ins: RSA credentials, a private CA, and a scripted local HTTP(S) server.

The scripted server is used ONLY for unit-level transport tests (exact retry sequences,
capturing what Skyflow's SDK sends); everything else runs against the real emulator.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

_KEY_CACHE: dict[str, rsa.RSAPrivateKey] = {}


def rsa_key(name: str = "default") -> rsa.RSAPrivateKey:
    if name not in _KEY_CACHE:
        _KEY_CACHE[name] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _KEY_CACHE[name]


def pkcs8_pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def pkcs1_pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def ec_pem() -> str:
    return pkcs8_pem(ec.generate_private_key(ec.SECP256R1()))


def creds_dict(token_uri: str = "https://127.0.0.1:9/v1/auth/sa/oauth/token",
               key: rsa.RSAPrivateKey | None = None) -> dict[str, str]:
    return {
        "clientID": "b7eaf1b4c5f24b0a8f7e0cbb1a2d3e4f",
        "clientName": "unit-test-sa",
        "tokenURI": token_uri,
        "keyID": "e1f2a3b4c5d6478899aabbccddeeff00",
        "privateKey": pkcs8_pem(key or rsa_key()),
        "keyValidAfterTime": "2026-01-01T00:00:00.000Z",
        "keyValidBeforeTime": "2027-01-01T00:00:00.000Z",
        "keyAlgorithm": "KEY_ALG_RSA_2048",
    }


# --------------------------------------------------------------------------- private CA


@dataclass
class LocalCA:
    ca_pem: Path
    cert_pem: Path
    key_pem: Path


def make_local_ca(directory: Path) -> LocalCA:
    """A CA and a server certificate for 127.0.0.1/localhost, written as PEM files."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "skyflow-pulumi test CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    out = LocalCA(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    out.ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    out.cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    out.key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                              serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    return out


# --------------------------------------------------------------------------- scripted server


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


Reply = tuple[int, dict[str, str], Any]
Handler = Callable[[Recorded], Reply]


@dataclass
class ScriptedServer:
    """Answers from per-"METHOD path" queues of replies (the last reply repeats), or a handler."""

    tls: LocalCA | None = None
    replies: dict[str, list[Reply]] = field(default_factory=dict)
    handler: Handler | None = None
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""

    def start(self) -> ScriptedServer:
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _do(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rec = Recorded(self.command, self.path, dict(self.headers.items()), body)
                outer.requests.append(rec)
                status, headers, payload = outer._reply(rec)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _do  # noqa: N815

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self._httpd.daemon_threads = True
        scheme = "http"
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(self.tls.cert_pem), str(self.tls.key_pem))
            self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        return self

    def _reply(self, rec: Recorded) -> Reply:
        if self.handler is not None:
            return self.handler(rec)
        key = f"{rec.method} {rec.path.split('?')[0]}"
        queue = self.replies.get(key)
        if not queue:
            return 404, {}, {"error": {"grpc_code": 5, "http_code": 404, "message": "no route"}}
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests
                   if r.method == method and r.path.split("?")[0] == path)

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def issue_token(lifetime: float = 3600, sub: str = "sa", now: float | None = None) -> str:
    """An HS256 JWT standing in for a Skyflow access token (clients only read exp)."""
    now = time.time() if now is None else now
    return jwt.encode({"sub": sub, "exp": int(now + lifetime), "iat": int(now)},
                      "test-secret-not-a-real-one-0123456789", algorithm="HS256")


def envelope(status: int, message: str, grpc: int) -> dict[str, Any]:
    return {"error": {"grpc_code": grpc, "http_code": status, "http_status": "x",
                      "message": message, "details": []}}
