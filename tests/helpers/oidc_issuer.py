"""A real OIDC issuer for tests: HTTPS on loopback, its own CA, RS256 and ES256 signing keys.

Serves what the keyless tests need, shaped like GitHub Actions' issuer:

* ``GET /.well-known/openid-configuration`` -> ``{"issuer", "jwks_uri"}``
* ``GET /jwks`` -> the public keys (``kid`` ``rs-1`` RS256, ``es-1`` ES256; more with
  :meth:`OidcIssuer.add_key`)
* ``GET /token?api-version=2.0&audience=...`` with ``Authorization: bearer <request token>``
  -> ``{"value": <JWT>}``, like ``$ACTIONS_ID_TOKEN_REQUEST_URL``, with GitHub's claim names
  (``repository``, ``ref``, ``environment``, ``sub`` = ``repo:ORG/REPO:ref:REF`` ...) from
  :attr:`OidcIssuer.github`.

``mint(...)`` signs any token directly (expired, not yet valid, another issuer, a key the JWKS
does not list); ``sign(claims)`` any claims (an app's session token); ``kubernetes_token(ns,
name)`` a projected service-account token with a cluster's claims. Nothing here imports the code
under test.

    with OidcIssuer() as idp:
        idp.url, idp.ca_path, idp.jwks_uri
        idp.github_env()      # ACTIONS_ID_TOKEN_REQUEST_URL / _TOKEN for a provider process
        idp.mint(repository="org/repo", ref="refs/heads/main")
"""

from __future__ import annotations

import json
import secrets
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.fakes import make_local_ca


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: Any
    published: bool = True

    def jwk(self) -> dict[str, Any]:
        algo = jwt.get_algorithm_by_name(self.alg)
        data = json.loads(algo.to_jwk(self.private.public_key()))
        data.update(kid=self.kid, alg=self.alg, use="sig")
        return dict(data)


def _new_key(kid: str, alg: str) -> SigningKey:
    if alg.startswith("RS"):
        return SigningKey(kid, alg, rsa.generate_private_key(public_exponent=65537,
                                                             key_size=2048))
    return SigningKey(kid, alg, ec.generate_private_key(ec.SECP256R1()))


class OidcIssuer:
    """The issuer process-in-a-thread. ``github`` holds the claims its token endpoint uses."""

    def __init__(self, *, lifetime: int = 600) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="oidc-issuer-")
        self.dir = Path(self._tmp.name)
        tls = make_local_ca(self.dir / "tls")  # a CA and a 127.0.0.1/localhost certificate
        self.ca_path, self._cert, self._key = tls.ca_pem, tls.cert_pem, tls.key_pem
        self.keys: dict[str, SigningKey] = {k.kid: k for k in (_new_key("rs-1", "RS256"),
                                                                  _new_key("es-1", "ES256"))}
        self.lifetime = lifetime
        self.request_token = secrets.token_urlsafe(24)
        self.github: dict[str, Any] = {"repository": "acme/identities",
                                       "ref": "refs/heads/main"}
        self.requests: list[str] = []  # paths served, for assertions (never a token)
        #: every token the token endpoint handed out: the secrets a scan must not find
        self.issued: list[str] = []
        self.jwks_fetches = 0
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # -- lifecycle
    def start(self) -> OidcIssuer:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                issuer._handle(self)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(self._cert), str(self._key))
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        server.daemon_threads = True
        self._server = server
        self.url = f"https://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._tmp.cleanup()

    def __enter__(self) -> OidcIssuer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- what clients are told
    @property
    def jwks_uri(self) -> str:
        return self.url + "/jwks"

    @property
    def token_request_url(self) -> str:
        return self.url + "/token?api-version=2.0"

    def github_env(self) -> dict[str, str]:
        """The variables a GitHub Actions job with ``id-token: write`` has."""
        return {"ACTIONS_ID_TOKEN_REQUEST_URL": self.token_request_url,
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.request_token}

    def add_key(self, kid: str, alg: str = "RS256", *, published: bool = True) -> SigningKey:
        key = _new_key(kid, alg)
        key.published = published
        self.keys[kid] = key
        return key

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.jwk() for k in self.keys.values() if k.published]}

    # -- tokens
    def github_claims(self, audience: str | None = None, **claims: Any) -> dict[str, Any]:
        """GitHub Actions' claim names for ``self.github`` (overridden by ``claims``)."""
        g = {**self.github, **claims}
        repo = g["repository"]
        owner = repo.split("/", 1)[0]
        event = g.get("event_name") or "push"
        # GitHub's default subject: the environment, else pull_request, else the ref
        sub = (f"repo:{repo}:environment:{g['environment']}" if g.get("environment")
               else f"repo:{repo}:pull_request" if event == "pull_request"
               else f"repo:{repo}:ref:{g['ref']}")
        out = {"sub": sub, "aud": audience or f"https://github.com/{owner}",
               "repository": repo, "repository_owner": owner, "ref": g["ref"],
               "ref_type": "branch", "workflow": "skyflow", "event_name": event,
               "job_workflow_ref": f"{repo}/.github/workflows/skyflow.yml@{g['ref']}",
               "run_id": str(secrets.randbelow(10**9))}
        if g.get("environment"):
            out["environment"] = g["environment"]
        out.update({k: v for k, v in claims.items()
                    if k not in ("repository", "ref", "event_name")})
        return out

    def mint(self, *, kid: str = "rs-1", iss: str | None = None, lifetime: int | None = None,
             nbf_in: int | None = None, exp: int | None = None, audience: str | None = None,
             **claims: Any) -> str:
        """A signed token with GitHub's claims; every knob a refusal test needs."""
        return self.sign(self.github_claims(audience, **claims), kid=kid, iss=iss,
                         lifetime=lifetime, nbf_in=nbf_in, exp=exp)

    def sign(self, claims: dict[str, Any], *, kid: str = "rs-1", iss: str | None = None,
             lifetime: int | None = None, nbf_in: int | None = None,
             exp: int | None = None) -> str:
        """Any claims, signed, with ``iss``, ``iat``, ``exp`` and ``jti`` added."""
        key = self.keys[kid]
        now = int(time.time())
        body = dict(claims)
        body.update(iss=iss or self.url, iat=now,
                    exp=exp if exp is not None else now + (lifetime or self.lifetime),
                    jti=secrets.token_hex(8))
        if nbf_in is not None:
            body["nbf"] = now + nbf_in
        return jwt.encode(body, key.private, algorithm=key.alg, headers={"kid": kid})

    def kubernetes_token(self, namespace: str, service_account: str, *,
                         audience: str = "skyflow", **kw: Any) -> str:
        """A projected service-account token as a cluster issues it: ``sub``
        ``system:serviceaccount:<ns>:<name>``, ``aud`` a list, the ``kubernetes.io`` claim."""
        pod = f"{service_account}-{secrets.token_hex(3)}"
        return self.sign({"sub": f"system:serviceaccount:{namespace}:{service_account}",
                          "aud": [audience], "nbf": int(time.time()),
                          "kubernetes.io": {"namespace": namespace,
                                            "pod": {"name": pod, "uid": secrets.token_hex(8)},
                                            "serviceaccount": {"name": service_account,
                                                               "uid": secrets.token_hex(8)}}},
                         **kw)

    # -- HTTP
    def _send(self, h: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        self.requests.append(parts.path)
        if parts.path == "/.well-known/openid-configuration":
            self._send(h, 200, {"issuer": self.url, "jwks_uri": self.jwks_uri,
                                "id_token_signing_alg_values_supported": ["RS256", "ES256"]})
        elif parts.path == "/jwks":
            self.jwks_fetches += 1
            self._send(h, 200, self.jwks())
        elif parts.path == "/token":
            auth = h.headers.get("Authorization", "")
            if auth.lower() != f"bearer {self.request_token}".lower():
                self._send(h, 401, {"message": "bad request token"})
                return
            audience = (parse_qs(parts.query).get("audience") or [None])[0]
            token = self.mint(audience=audience)
            self.issued.append(token)
            self._send(h, 200, {"count": 1, "value": token})
        else:
            self._send(h, 404, {"message": "not found"})
