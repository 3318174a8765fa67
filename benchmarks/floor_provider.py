"""The engine floor: dynamic resources shaped like ServiceAccount/RoleAssignment that call nothing.

Why a look-alike and not an empty resource: the floor must cost the engine what our resources
cost it (same number of resources, same dependency edges, same input/output keys, the same
forced-secret outputs of about the same size), so that ``skyflow / floor`` isolates what is
ours: validation, HTTP, the emulator and our pickled provider. The module is importable
(``benchmarks.floor_provider``), so dill pickles the provider class by reference, as ours.

``wire=True`` makes the same floor send one authenticated Management API GET per provider call
(create, read, update, delete), with the standard library's client on a kept-alive connection:
what one API call per resource costs on this machine (client, TLS, the emulator's routing,
authentication and a read) before any of our code, so the N=1000 figures can tell the price of
the call itself from ours.

``wire="create"`` (program mode ``wire_create``) makes each create step POST the server's
cheapest create instead, a service account with ``apiKeyEnabled`` (a write transaction and an
API key; no RSA pair, so less server work than the JWT accounts ours makes), and each delete
step DELETE that account again (nothing is left behind; the id it deletes is the one its create
got); read and update still GET. So the create reference carries a create's server work, not a
read's.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import ssl
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import jwt
import pulumi
from pulumi.dynamic import (
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

# ServiceAccount's / RoleAssignment's key lists, generated from the declarations (not imported
# from skyflow_provider: its import time would be charged to the floor).
from .floor_shape import RA_INPUTS, RA_OUTPUTS, SA_INPUTS, SA_OUTPUTS, SA_SECRETS

# Placeholders with the byte sizes of what Skyflow returns (RSA-2048 PEM, credentials.json).
_FAKE_KEY = "-----BEGIN PRIVATE KEY-----\n" + ("A" * 64 + "\n") * 25 + "-----END PRIVATE KEY-----"
_FAKE_CREDS = '{"clientID": "x", "privateKey": "' + "B" * 1900 + '"}'


def _fake_id(*parts: Any) -> str:
    """A deterministic 32-hex id, like Skyflow's."""
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:32]


class _Wire:
    """One call per step: a token exchanged once per process (as ours), a connection per thread.

    Written here rather than calling ``skyflow_provider.auth`` / ``http.pool``: those are what
    this floor measures ours against, so the floor uses only the standard library and PyJWT.
    """

    _lock = threading.Lock()
    _token: str | None = None
    _path = ""
    _local = threading.local()

    @classmethod
    def _send(cls, method: str, path: str, body: str | None = None,
              headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        conn: http.client.HTTPSConnection | None = getattr(cls._local, "conn", None)
        if conn is None:
            url = urlsplit(os.environ["SKYFLOW_MANAGEMENT_URL"])
            ctx = ssl.create_default_context(cafile=os.environ.get("SKYFLOW_CA_BUNDLE") or None)
            conn = cls._local.conn = http.client.HTTPSConnection(
                str(url.hostname), url.port, context=ctx, timeout=60)
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()

    @classmethod
    def _headers(cls) -> dict[str, str]:
        cls._login()
        return {"Authorization": f"Bearer {cls._token}",
                "X-Skyflow-Account-ID": os.environ["SKYFLOW_ACCOUNT_ID"]}

    @classmethod
    def call(cls) -> None:
        """GET the calling service account itself: the cheapest authenticated read there is."""
        headers = cls._headers()  # the first one logs in, which sets the path
        status, _ = cls._send("GET", cls._path, headers=headers)
        if status != 200:
            raise RuntimeError(f"wire floor: GET serviceAccounts answered {status}")

    @classmethod
    def create(cls, name: str) -> str:
        """POST the cheapest create (an API-key service account); its id."""
        status, data = cls._send("POST", "/v1/serviceAccounts", json.dumps(
            {"serviceAccount": {"name": name, "displayName": name, "description": "make bench"},
             "apiKeyEnabled": True}), {**cls._headers(), "Content-Type": "application/json"})
        if status != 200:
            raise RuntimeError(f"wire floor: POST serviceAccounts answered {status}")
        return str(json.loads(data)["clientID"])

    @classmethod
    def delete(cls, sa_id: str) -> None:
        """DELETE an account :meth:`create` made (its id came from that create)."""
        status, _ = cls._send("DELETE", f"/v1/serviceAccounts/{sa_id}", headers=cls._headers())
        if status != 200:
            raise RuntimeError(f"wire floor: DELETE serviceAccounts answered {status}")

    @classmethod
    def _login(cls) -> None:
        """One token per process, as ours."""
        if cls._token is not None:
            return
        with cls._lock:
            if cls._token is None:
                with open(os.environ["SKYFLOW_CREDENTIALS_FILE"], encoding="utf-8") as f:
                    creds = json.load(f)
                now = int(time.time())
                assertion = jwt.encode(
                    {"iss": creds["clientID"], "sub": creds["clientID"], "key": creds["keyID"],
                     "aud": creds["tokenURI"], "iat": now, "exp": now + 3600},
                    creds["privateKey"], algorithm="RS256")
                status, data = cls._send("POST", urlsplit(creds["tokenURI"]).path, json.dumps(
                    {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                     "assertion": assertion}), {"Content-Type": "application/json"})
                if status != 200:
                    raise RuntimeError(f"wire floor: token exchange answered {status}")
                cls._path = f"/v1/serviceAccounts/{creds['clientID']}"
                cls._token = json.loads(data)["accessToken"]


class _Base(ResourceProvider):
    """Diff on inputs only; no I/O anywhere unless ``wire``."""

    inputs: tuple[str, ...] = ()
    # A class attribute, not instance state: an instance's __dict__ goes through the Pulumi SDK's
    # sorted-dict pickler, which nests once per resource and overflows near 1,000 (the reason
    # SkyflowProvider has __reduce__); the wire variants are subclasses instead.
    wire: bool | str = False

    def _call(self) -> None:
        if self.wire:
            _Wire.call()

    def _create(self, name: str, fake: str) -> str:
        """The create step's call: a GET (``wire``), a real create (``wire="create"``; the id is
        the created account's), or nothing (the floor: ``fake`` is the id)."""
        if self.wire == "create":
            return _Wire.create(name)
        self._call()
        return fake

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in self.inputs if olds.get(k) != news.get(k)]
        replaces = [k for k in changed if k == "name" or k.endswith("_id")]
        return DiffResult(changes=bool(changed), replaces=replaces,
                          delete_before_replace=False)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        self._call()
        outs = {k: v for k, v in props.items() if k != "__provider"}
        return ReadResult(id_, outs, {k: outs.get(k) for k in self.inputs})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self._call()
        outs = {k: v for k, v in olds.items() if k != "__provider"}
        outs.update({k: news.get(k) for k in self.inputs})
        return UpdateResult(outs)

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        if self.wire == "create":
            _Wire.delete(id_)
        else:
            self._call()


class FloorAccountProvider(_Base):
    inputs = SA_INPUTS

    def create(self, props: dict[str, Any]) -> CreateResult:
        cid = self._create(str(props.get("name")), _fake_id("sa", props.get("name")))
        outs = {k: props.get(k) for k in SA_INPUTS}
        outs.update(client_id=cid, client_name=props.get("name"),
                    token_uri="https://127.0.0.1/v1/auth/sa/oauth/token", namespace="",
                    key_id=_fake_id("key", cid), private_key=_FAKE_KEY,
                    credentials=_FAKE_CREDS, api_key_id=None, api_key=None)
        return CreateResult(cid, outs)


class FloorAssignmentProvider(_Base):
    inputs = RA_INPUTS

    def create(self, props: dict[str, Any]) -> CreateResult:
        role = _fake_id("role", props.get("vault_id"), props.get("role_name"))
        member = str(props.get("service_account_id"))
        rid = self._create(f"{member}-ra", f"{role}:{member}")
        outs = {k: props.get(k) for k in RA_INPUTS}
        outs.update(resolved_role_id=role, resolved_member_id=member)
        return CreateResult(rid, outs)


class WireAccountProvider(FloorAccountProvider):
    wire = True


class WireAssignmentProvider(FloorAssignmentProvider):
    wire = True


class WireCreateAccountProvider(FloorAccountProvider):
    wire = "create"


class WireCreateAssignmentProvider(FloorAssignmentProvider):
    wire = "create"


def _provider(floor: type[_Base], wire: type[_Base], create: type[_Base],
              mode: bool | str) -> _Base:
    return (create if mode == "create" else wire if mode else floor)()


class FloorAccount(Resource, module="floor", name="Account"):
    """ServiceAccount's shape: same inputs and outputs, same forced secrets."""

    client_id: pulumi.Output[str]

    def __init__(self, resource_name: str, opts: pulumi.ResourceOptions | None = None,
                 wire: bool | str = False, **kwargs: Any) -> None:
        props: dict[str, Any] = {k: kwargs.get(k) for k in SA_INPUTS + SA_OUTPUTS}
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=list(SA_SECRETS)))
        provider = _provider(FloorAccountProvider, WireAccountProvider,
                             WireCreateAccountProvider, wire)
        super().__init__(provider, resource_name, props, opts)


class FloorAssignment(Resource, module="floor", name="Assignment"):
    """RoleAssignment's shape."""

    def __init__(self, resource_name: str, opts: pulumi.ResourceOptions | None = None,
                 wire: bool | str = False, **kwargs: Any) -> None:
        props: dict[str, Any] = {k: kwargs.get(k) for k in RA_INPUTS + RA_OUTPUTS}
        provider = _provider(FloorAssignmentProvider, WireAssignmentProvider,
                             WireCreateAssignmentProvider, wire)
        super().__init__(provider, resource_name, props, opts)


class PlainProvider(ResourceProvider):
    """The plain floor: a do-nothing dynamic resource with three string inputs, no outputs of
    its own and no secrets (what a new user compares a resource against)."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = {k: props.get(k) for k in ("name", "display_name", "description")}
        return CreateResult(_fake_id("plain", props.get("name")), outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        outs = {k: v for k, v in props.items() if k != "__provider"}
        return ReadResult(id_, outs, outs)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None


class Plain(Resource, module="floor", name="Plain"):
    """Three string inputs, nothing else."""

    def __init__(self, resource_name: str, opts: pulumi.ResourceOptions | None = None,
                 **kwargs: Any) -> None:
        props = {k: kwargs.get(k) for k in ("name", "display_name", "description")}
        super().__init__(PlainProvider(), resource_name, props, opts)
