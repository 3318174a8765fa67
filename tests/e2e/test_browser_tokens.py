"""skyflow-js in a real browser gets its bearer tokens from `skyflow-token serve`.

Headless Debian Chromium (Playwright drives /usr/bin/chromium; scripts/setup-browser.sh installs
it and the pinned skyflow-js 2.7.4) opens tests/browser/page.html, which loads the unmodified npm
bundle and calls ``Skyflow.init({vaultID, vaultURL, getBearerToken})``. ``getBearerToken`` POSTs
the user's session JWT to the vendor's ``/v1/token`` and hands the SDK the ``accessToken``.

What is real here: the SDK's page code (frame creation, the framebus handshake answers, the call
to ``getBearerToken``, its JWT expiry check and token cache), Chromium's networking (TLS, CORS
with preflights, origins), the vendor process, and the emulator (token exchange, Data API, CORS).
What is ours: the controller frame. skyflow-js runs its data calls in an iframe loaded from
``https://js.skyflow.com/v2.7.4/elements/index.html`` (baked into the bundle), which cannot be
fetched offline; tests/browser/frame.{html,js} is a stand-in that speaks the SDK's framebus
handshake (PUREJS_FRAME_READY, GET_BEARER_TOKEN, PUREJS_REQUEST) and sends the data calls to the
emulator. See docs/browser-test.md.

How the browser reaches the frame and trusts the servers, without interception or blanket
certificate bypass:
  - ``--host-resolver-rules`` maps js.skyflow.com:443 to a local HTTPS server (any other name
    resolves to nothing, so nothing leaves the machine). No Playwright ``route``: Chromium skips
    CORS preflights for intercepted requests, which would hide exactly what this test checks.
  - That server's certificate (CN js.skyflow.com) comes from a CA made by the test; the emulator's
    from its own CA (DIR/ca.pem). Chromium trusts exactly these two CAs through
    ``--ignore-certificate-errors-spki-list=<sha256 of each CA's public key>`` (honoured with the
    fresh ``--user-data-dir`` of a persistent context); every other certificate error stays an
    error. ``--ignore-certificate-errors`` is not used.
  - The frame's origin is https://js.skyflow.com, as with the real SDK, so the emulator allows it
    with ``--cors-origin https://js.skyflow.com``; the page's origin (http://127.0.0.1:PORT) is
    the vendor's ``--allow-origin``; the same page served as http://localhost:PORT is not.

Short tokens: the emulator runs with ``--access-token-ttl TOKEN_TTL`` (Skyflow's tokens live
3600 s), so the test sees the SDK ask again after expiry within seconds.

Skips only when /usr/bin/chromium is missing and CI is not set; under CI=true that fails.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.prerequisites import require_file

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
BROWSER_DIR = REPO_ROOT / "tests" / "browser"
SDK_BUNDLE = "node_modules/skyflow-js/dist/sdkNodeBuild/index.js"
CHROMIUM = Path(os.environ.get("SKYFLOW_TEST_CHROMIUM", "/usr/bin/chromium"))

FRAME_HOST = "js.skyflow.com"            # baked into skyflow-js 2.7.4
FRAME_ORIGIN = f"https://{FRAME_HOST}"
FRAME_FILES = {"/v2.7.4/elements/index.html": ("frame.html", "text/html"),
               "/v2.7.4/elements/frame.js": ("frame.js", "text/javascript")}
PAGE_FILES = {"/page.html": ("page.html", "text/html"),
              "/page.js": ("page.js", "text/javascript"),
              "/" + SDK_BUNDLE: (SDK_BUNDLE, "text/javascript")}

TOKEN_TTL = 10         # seconds: the emulator's access-token lifetime in this test
SESSION_ISSUER = "https://app.test/session"
SESSION_AUDIENCE = "browser-token-test"
USER = "user-42"
ROLE_NAME = "browser"
TABLE = "persons"
OP_TIMEOUT_MS = 20000
VENDOR_READY = "skyflow-token serving on "

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]



# ---- prerequisites ------------------------------------------------------------------------------

def _require_browser() -> Any:
    """Playwright's sync API, or a skip (no chromium, not CI) / failure (CI, or broken install)."""
    require_file(CHROMIUM, "`bash scripts/setup-browser.sh` installs Debian's chromium "
                 "(make setup runs it)")
    if not (BROWSER_DIR / SDK_BUNDLE).exists():
        pytest.fail(f"tests/browser/{SDK_BUNDLE} is missing: run `bash scripts/setup-browser.sh`")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the dev extra installs it
        pytest.fail(f"playwright is not installed ({exc}): run `make setup`")
    return sync_playwright


# ---- certificates -------------------------------------------------------------------------------

def spki_pin(cert: x509.Certificate) -> str:
    """What --ignore-certificate-errors-spki-list takes: base64(sha256(SubjectPublicKeyInfo))."""
    der = cert.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def make_frame_cert(directory: Path) -> tuple[Path, Path, x509.Certificate]:
    """A throwaway CA and a certificate for js.skyflow.com from it: (chain, key, CA)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "browser test frame CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, FRAME_HOST)]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(FRAME_HOST)]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    chain, key_path = directory / "frame-chain.pem", directory / "frame-key.pem"
    chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM)
                      + ca.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return chain, key_path, ca


# ---- the two static servers ---------------------------------------------------------------------

class StaticServer:
    """Serves a fixed map of paths to files of tests/browser/ (nothing else), optionally TLS."""

    def __init__(self, files: dict[str, tuple[str, str]], *, tls: tuple[Path, Path] | None = None):
        served: list[str] = []
        self.requests = served

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                path = self.path.split("?", 1)[0]
                served.append(path)
                entry = files.get(path)
                if entry is None:
                    self.send_error(404)
                    return
                body = (BROWSER_DIR / entry[0]).read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", entry[1] + "; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            import ssl

            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(tls[0]), str(tls[1]))
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ---- the vendor ---------------------------------------------------------------------------------

class VendorProcess:
    """`skyflow-token serve` as a subprocess; ``url`` from its ready line."""

    def __init__(self, args: list[str], log_path: Path, timeout: float = 30.0) -> None:
        self.log_path = log_path
        with log_path.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "skyflow_provider.cli.token", "serve", *args],
                stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, text=True,
                cwd=str(REPO_ROOT))
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()),  # type: ignore[union-attr]
                                  daemon=True)
        reader.start()
        reader.join(timeout)
        if not line or VENDOR_READY not in line[0]:
            self.close()
            raise RuntimeError(f"skyflow-token serve did not become ready: {line!r}\n"
                               + log_path.read_text(errors="replace")[-3000:])
        self.url = line[0].split(VENDOR_READY, 1)[1].strip()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        if self.proc.stdout is not None:
            for _ in self.proc.stdout:
                pass

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


# ---- the world: emulator, service account, vendor, session, servers ----------------------------

def _mgmt(emu: EmulatorProcess, method: str, path: str, **kw: Any) -> Any:
    r = emu.session().request(method, emu.url + path, headers=emu.headers(), timeout=30, **kw)
    assert r.status_code == 200, f"{method} {path}: {r.status_code} {r.text}"
    return r.json()


def _system_role(emu: EmulatorProcess, name: str) -> str:
    roles = _mgmt(emu, "GET", "/v1/roles", params={"resource.ID": emu.vault_id,
                                                    "resource.type": "VAULT", "name": name})
    return str(roles["roles"][0]["ID"])


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    sync_playwright = _require_browser()

    # The emulator: short access tokens (see the docstring), CORS for the SDK's frame origin.
    emu = EmulatorProcess(tmp_path / "emulator",
                          extra_args=["--cors-origin", FRAME_ORIGIN,
                                      "--access-token-ttl", str(TOKEN_TTL)])
    emu.start()
    servers: list[StaticServer] = []
    vendor: VendorProcess | None = None
    try:
        # A service account with one role on the vault, as an operator would make it.
        sa = _mgmt(emu, "POST", "/v1/serviceAccounts", json={
            "serviceAccount": {"name": "browser-token-vendor"},
            "resource": {"ID": emu.vault_id, "type": "VAULT"}})
        role_id = _system_role(emu, "VAULT_EDITOR")  # record.* on this vault, no management
        _mgmt(emu, "POST", "/v1/roles/assign", json={
            "ID": role_id, "members": [{"ID": sa["clientID"], "type": "SERVICE_ACCOUNT"}]})
        creds_path = tmp_path / "credentials.json"
        creds_path.write_text(json.dumps(
            {k: sa[k] for k in ("clientID", "clientName", "keyID", "tokenURI", "privateKey")
             if k in sa}))
        creds_path.chmod(0o600)

        # The app's session tokens: an RSA key, its JWKS file, one user's session JWT.
        session_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(session_key.public_key()))
        jwk.update({"kid": "session-1", "alg": "RS256", "use": "sig"})
        jwks_path = tmp_path / "session-jwks.json"
        jwks_path.write_text(json.dumps({"keys": [jwk]}))
        now = int(time.time())
        session_token = jwt.encode(
            {"iss": SESSION_ISSUER, "aud": SESSION_AUDIENCE, "sub": USER, "iat": now,
             "exp": now + 900}, session_key, algorithm="RS256", headers={"kid": "session-1"})

        page_server = StaticServer(PAGE_FILES)
        servers.append(page_server)
        chain, key, frame_ca = make_frame_cert(tmp_path / "frame-tls")
        frame_server = StaticServer(FRAME_FILES, tls=(chain, key))
        servers.append(frame_server)
        allowed_origin = f"http://127.0.0.1:{page_server.port}"

        assert emu.ca_bundle is not None
        vendor = VendorProcess([
            "--host", "127.0.0.1", "--port", "0",
            "--credentials", str(creds_path), "--ca-bundle", emu.ca_bundle,
            "--auth-jwks", str(jwks_path), "--auth-issuer", SESSION_ISSUER,
            "--auth-audience", SESSION_AUDIENCE, "--ctx-claim", "sub",
            "--role", f"{ROLE_NAME}={role_id}", "--allow-origin", allowed_origin,
            # hand out a cached token while it has 2 s left (default 300 s > TOKEN_TTL)
            "--refresh-margin", "2",
        ], tmp_path / "vendor.stderr.log")

        emu_ca = x509.load_pem_x509_certificate(Path(emu.ca_bundle).read_bytes())
        yield {
            "sync_playwright": sync_playwright, "emu": emu, "vendor": vendor, "sa": sa,
            "role_id": role_id, "session_token": session_token,
            "page_server": page_server, "frame_server": frame_server,
            "allowed_origin": allowed_origin,
            "refused_origin": f"http://localhost:{page_server.port}",
            "pins": [spki_pin(emu_ca), spki_pin(frame_ca)],
            "profile": tmp_path / "chromium-profile",
        }
    finally:
        if vendor is not None:
            vendor.close()
        for s in servers:
            s.close()
        emu.close()


# ---- the test -----------------------------------------------------------------------------------

def _run(page: Any, op: str, *args: Any) -> dict[str, Any]:
    return dict(page.evaluate("([op, args, ms]) => tokenTest.run(op, args, ms)",
                              [op, list(args), OP_TIMEOUT_MS]))


def _state(page: Any) -> dict[str, Any]:
    return dict(page.evaluate(
        "() => ({calls: tokenTest.calls, errors: tokenTest.errors, claims: tokenTest.claims,"
        " expiries: tokenTest.expiries})"))


def _open(context: Any, origin: str, cfg: dict[str, Any], console: list[str]) -> Any:
    page = context.new_page()
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.goto(origin + "/page.html")
    assert page.evaluate("() => tokenTest.loaded"), "the skyflow-js bundle did not load"
    page.evaluate("cfg => tokenTest.init(cfg)", cfg)
    return page


def test_skyflow_js_gets_reuses_and_renews_vendor_tokens(world: dict[str, Any]) -> None:
    emu: EmulatorProcess = world["emu"]
    sa_id = world["sa"]["clientID"]
    cfg = {"vaultID": emu.vault_id, "vaultURL": emu.url, "vendorUrl": world["vendor"].url,
           "sessionToken": world["session_token"], "role": ROLE_NAME}
    args = [*CHROMIUM_ARGS,
            "--ignore-certificate-errors-spki-list=" + ",".join(world["pins"]),
            f"--host-resolver-rules=MAP {FRAME_HOST}:443 127.0.0.1:{world['frame_server'].port},"
            " MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"]
    console: list[str] = []
    with world["sync_playwright"]() as pw:
        context = pw.chromium.launch_persistent_context(
            str(world["profile"]), executable_path=str(CHROMIUM), headless=True, args=args)
        try:
            page = _open(context, world["allowed_origin"], cfg, console)

            # 1. First operation: the SDK asks getBearerToken, accepts the vendor's token.
            inserted = _run(page, "insert", {"records": [
                {"table": TABLE, "fields": {"name": "Ada Lovelace", "email": "ada@example.com"}}]})
            assert inserted["ok"], (inserted, console)
            record = inserted["value"]["records"][0]
            skyflow_id = record["fields"]["skyflow_id"]
            name_token = record["fields"]["name"]
            assert skyflow_id and name_token and name_token != "Ada Lovelace", record
            state = _state(page)
            assert state["calls"] == 1, state
            claims = state["claims"][0]
            assert claims["sub"] == sa_id, claims
            assert claims.get("context_identifier") == USER, claims  # --ctx-claim sub
            assert world["role_id"] in claims.get("scope", ""), claims
            assert claims["exp"] - claims["iat"] == TOKEN_TTL, claims  # --access-token-ttl

            # 2. Two more operations within the token's life: the SDK reuses its cached token.
            got = _run(page, "get", {"records": [
                {"ids": [skyflow_id], "table": TABLE, "redaction": "PLAIN_TEXT"}]})
            assert got["ok"], (got, console)
            fields = got["value"]["records"][0]["fields"]
            assert fields["id"] == skyflow_id and fields["name"] == "Ada Lovelace", got
            detok = _run(page, "detokenize", {"records": [{"token": name_token}]})
            assert detok["ok"], (detok, console)
            assert detok["value"]["records"][0]["value"] == "Ada Lovelace", detok
            assert _state(page)["calls"] == 1, "the SDK did not reuse its token"
            assert time.time() < claims["exp"], (
                f"the first steps took longer than TOKEN_TTL={TOKEN_TTL} s; the reuse check "
                "above may have seen a renewal")

            # 3. After exp the SDK asks again, and the new token works.
            time.sleep(max(0.0, claims["exp"] + 1.2 - time.time()))
            again = _run(page, "get", {"records": [
                {"ids": [skyflow_id], "table": TABLE, "redaction": "PLAIN_TEXT"}]})
            assert again["ok"], (again, console)
            state = _state(page)
            assert state["calls"] == 2, state
            assert state["claims"][1]["exp"] > claims["exp"], state["claims"]
            assert state["errors"] == [], state

            # The emulator saw the browser's data calls: preflighted, as the service account.
            log = emu.read_request_log()
            data = [e for e in log if e["path"].startswith(f"/v1/vaults/{emu.vault_id}")]
            assert any(e["method"] == "OPTIONS" for e in data), data
            calls = [e for e in data if e["method"] != "OPTIONS"]
            assert len(calls) == 4, calls
            assert all(e["status"] == 200 and e["subject"] == sa_id for e in calls), calls
            assert "/v2.7.4/elements/index.html" in world["frame_server"].requests
            page.close()

            # 4. The same page on an origin the vendor does not list gets no token: CORS.
            before = len(emu.read_request_log())
            refused_console: list[str] = []
            page = _open(context, world["refused_origin"], cfg, refused_console)
            refused = _run(page, "insert", {"records": [
                {"table": TABLE, "fields": {"name": "Mallory"}}]})
            assert not refused["ok"], refused
            state = _state(page)
            assert state["calls"] == 1 and state["claims"] == [], state
            assert state["errors"] and state["errors"][0].startswith("TypeError"), state
            assert any("blocked by CORS policy" in line and "/v1/token" in line
                       for line in refused_console), refused_console
            assert not [e for e in emu.read_request_log()[before:]
                        if e["path"].startswith("/v1/vaults/")], "a data call got through"
        finally:
            context.close()
