"""Start the Skyflow emulator as a real subprocess for tests.

Independent of skyflow_provider: tokens are minted here with PyJWT directly.

    with EmulatorProcess() as emu:
        s = emu.session()                # requests.Session trusting emu.ca_bundle
        s.get(emu.url + "/v1/serviceAccounts", headers=emu.headers())
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import jwt
import requests

READY_PREFIX = "skyflow-emulator listening on "
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class _PinnedSession(requests.Session):
    # requests lets REQUESTS_CA_BUNDLE override Session.verify; pass it per request instead.
    def __init__(self, verify: str | bool) -> None:
        super().__init__()
        self.verify = verify
        self.trust_env = False

    def request(self, method: str | bytes, url: str | bytes,  # type: ignore[override]
                *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("verify", self.verify)
        return super().request(method, url, *args, **kwargs)


class EmulatorProcess:
    def __init__(self, data_dir: str | os.PathLike[str] | None = None, *,
                 insecure_http: bool = False, extra_args: list[str] | tuple[str, ...] = (),
                 env: dict[str, str] | None = None, host: str = "127.0.0.1",
                 startup_timeout: float = 30.0,
                 command: list[str] | tuple[str, ...] | None = None,
                 cwd: str | os.PathLike[str] | None = None) -> None:
        """``command`` (default ``python -m skyflow_emulator`` from the repo) runs another
        install of it, e.g. a ``skyflow-emulator`` console script of a built wheel, in ``cwd``
        (default: the repo root)."""
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="skyflow-emu-")
            data_dir = self._tmp.name
        self.data_dir = Path(data_dir)
        self.insecure_http = insecure_http
        self.extra_args = list(extra_args)
        self.env = env
        self.host = host
        self.startup_timeout = startup_timeout
        self.command = list(command) if command else [sys.executable, "-m", "skyflow_emulator"]
        self.cwd = Path(cwd) if cwd is not None else Path(__file__).resolve().parents[2]
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.port = 0

    # -- lifecycle
    def start(self, port: int = 0) -> EmulatorProcess:
        cmd = [*self.command, "--host", self.host, "--port",
               str(port), "--data-dir", str(self.data_dir), *self.extra_args]
        if self.insecure_http:
            cmd.append("--insecure-http")
        env = dict(os.environ)
        env.update(self.env or {})
        self.data_dir.mkdir(parents=True, exist_ok=True)
        stderr = (self.data_dir / "emulator.stderr.log").open("a")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                     env=env, cwd=str(self.cwd))
        stderr.close()
        line = self._read_ready_line()
        self.url = line[len(READY_PREFIX):].strip()
        self.port = int(self.url.rsplit(":", 1)[1])
        threading.Thread(target=self._drain, args=(self.proc,), daemon=True).start()
        return self

    def _read_ready_line(self) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()),  # type: ignore[union-attr]
                                  daemon=True)
        reader.start()
        reader.join(self.startup_timeout)
        if not result or not result[0].startswith(READY_PREFIX):
            self.kill9()
            err = (self.data_dir / "emulator.stderr.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"emulator did not become ready: {result!r}\n{err}")
        return result[0]

    @staticmethod
    def _drain(proc: subprocess.Popen[str]) -> None:
        if proc.stdout is not None:
            for _ in proc.stdout:
                pass

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def kill9(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def restart(self, *, same_port: bool = True, kill: bool = False) -> EmulatorProcess:
        port = self.port if same_port else 0
        (self.kill9 if kill else self.stop)()
        deadline = time.time() + 10
        while True:
            try:
                return self.start(port)
            except RuntimeError:
                if time.time() > deadline or port == 0:
                    raise
                time.sleep(0.2)

    def close(self) -> None:
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- files written by the emulator
    @property
    def admin_credentials_path(self) -> Path:
        return self.data_dir / "admin-credentials.json"

    @property
    def admin_credentials(self) -> dict[str, Any]:
        return json.loads(self.admin_credentials_path.read_text())

    @property
    def account(self) -> dict[str, Any]:
        return json.loads((self.data_dir / "account.json").read_text())

    @property
    def account_id(self) -> str:
        return str(self.account["accountID"])

    @property
    def vault_id(self) -> str:
        return str(self.account["vaults"][0]["ID"])

    @property
    def ca_bundle(self) -> str | None:
        return None if self.insecure_http else str(self.data_dir / "ca.pem")

    @property
    def admin_token(self) -> str:
        return (self.data_dir / "admin-token").read_text().strip()

    def read_request_log(self) -> list[dict[str, Any]]:
        path = self.data_dir / "requests.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    # -- HTTP helpers
    def session(self) -> requests.Session:
        """A session that trusts exactly this emulator's CA (env CA settings cannot override)."""
        return _PinnedSession(self.ca_bundle if self.ca_bundle else True)

    def assertion(self, creds: dict[str, Any] | None = None, *, ctx: Any = None,
                  exp_in: int = 3600, aud: str | None = None, **extra: Any) -> str:
        creds = creds or self.admin_credentials
        claims: dict[str, Any] = {"iss": creds["clientID"], "sub": creds["clientID"],
                                  "key": creds["keyID"], "aud": aud or creds["tokenURI"],
                                  "exp": int(time.time()) + exp_in}
        if ctx is not None:
            claims["ctx"] = ctx
        claims.update(extra)
        return jwt.encode(claims, creds["privateKey"], algorithm="RS256")

    def exchange(self, assertion: str, scope: str | None = None) -> requests.Response:
        body: dict[str, Any] = {"grant_type": GRANT, "assertion": assertion}
        if scope is not None:
            body["scope"] = scope
        return self.session().post(self.url + "/v1/auth/sa/oauth/token", json=body, timeout=30)

    def token(self, creds: dict[str, Any] | None = None, *, ctx: Any = None,
              roles: list[str] | None = None) -> str:
        scope = " ".join(f"role:{r}" for r in roles) if roles else None
        r = self.exchange(self.assertion(creds, ctx=ctx), scope)
        r.raise_for_status()
        return str(r.json()["accessToken"])

    @property
    def admin_bearer(self) -> str:
        return self.token()

    def headers(self, bearer: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {bearer or self.admin_bearer}",
                "X-Skyflow-Account-ID": self.account_id}

    def get_faults(self) -> dict[str, Any]:
        r = self.session().get(self.url + "/_emulator/faults", timeout=30,
                               headers={"Authorization": f"Bearer {self.admin_token}"})
        r.raise_for_status()
        return dict(r.json())

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        r = self.session().put(self.url + "/_emulator/faults", json=settings, timeout=30,
                               headers={"Authorization": f"Bearer {self.admin_token}"})
        r.raise_for_status()
        return dict(r.json())

    def clear_faults(self) -> dict[str, Any]:
        return self.set_faults(latency_ms=0, latency_jitter_ms=0, rate_429=0, rate_500=0,
                               rate_503=0, rate_drop=0, seed=None)
