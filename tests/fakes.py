"""Test-only stand-ins, one module for the whole suite.

* :class:`FakeClient`: an in-memory stand-in for ManagementClient, for unit tests of provider
  CRUD logic only. End-to-end behaviour is tested against the real emulator; this fake only
  needs the method names and response shapes of design.md / the OpenAPI spec.
* RSA credentials, a private CA, and a scripted local HTTP(S) server. The scripted server is
  used ONLY for unit-level transport tests (exact retry sequences, capturing what Skyflow's
  SDK sends); everything else runs against the real emulator.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import itertools
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

from skyflow_provider.http.errors import (
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
)

TEST_PEM = "-----BEGIN PRIVATE KEY-----\nFAKEKEYMATERIAL{n}\n-----END PRIVATE KEY-----\n"


class FakeTokens:
    """What ``api.audit`` reads of a client's token provider: the jti of its tokens."""

    def __init__(self, *jwt_ids: str) -> None:
        self.jwt_ids = set(jwt_ids)


class FakeClient:
    """Writes are recorded in an audit log the way the emulator records them (who, with which
    token's ctx and jti, what it created): ``owner_tag`` and ``tokens`` are "this stack" and
    "this process"; change them to act as another stack or process."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.calls: list[str] = []
        self.owner_tag: str | None = "pulumi:unit/test"
        self.tokens = FakeTokens("jti-this-process")
        self.actor = "me"
        self.audit: list[dict[str, Any]] = []
        self.audit_denied = False
        self.sas: dict[str, dict[str, Any]] = {}
        self.api_keys: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, dict[str, Any]] = {}
        self.roles: dict[str, dict[str, Any]] = {
            "sysedit": {"ID": "sysedit", "definition": {"name": "VAULT_EDITOR", "type": "SYSTEM"},
                        "resource": {"ID": "v1", "type": "VAULT"}},
        }
        self.members: dict[str, list[dict[str, Any]]] = {}
        self.policies: dict[str, dict[str, Any]] = {}
        self.role_policies: dict[str, set[str]] = {}
        self.conflict_on_assign = False
        self.workspaces: dict[str, dict[str, Any]] = {
            "ws1": {"ID": "ws1", "name": "Main", "status": "ACTIVE",
                    "url": "https://c0ffee.vault.skyflowapis.com"}}
        self.vaults: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):04d}"

    def _nf(self, what: str) -> NotFoundError:
        return NotFoundError(f"{what} not found", status=404)

    def _record(self, method: str, uri: str, *ids: str) -> None:
        self.audit.append({
            "context": {"actor": self.actor, "bearerTokenContextID": self.owner_tag or "",
                        "jwtID": next(iter(sorted(self.tokens.jwt_ids)), "")},
            "request": {"httpInfo": {"URI": uri, "method": method},
                        "timestamp": f"2026-12-06 09:00:{len(self.audit):02d}.000"},
            "response": {"code": 200}, "resourceIDs": [i for i in ids if not i.endswith("/")]})

    def list_audit_events(self, filters: dict[str, str]) -> list[Any]:
        self.calls.append("list_audit_events")
        if self.audit_denied:
            raise PermissionDeniedError("missing permission audit.read", status=403)
        wanted = {r.strip() for r in filters.get("filterOps.resourceIDs", "").split(",")
                  if r.strip()}
        ctx = filters.get("filterOps.context.bearerTokenContextID")
        jti = filters.get("filterOps.context.jwtID")
        method = filters.get("filterOps.httpMethod")
        return [dict(e) for e in self.audit
                if (not wanted or wanted & set(e["resourceIDs"]))
                and (ctx is None or e["context"]["bearerTokenContextID"] == ctx)
                and (jti is None or e["context"]["jwtID"] == jti)
                and (method is None or e["request"]["httpInfo"]["method"] == method)]

    # service accounts
    def create_service_account(self, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append("create_service_account")
        sa_id = self._id("sa")
        sa = dict(body["serviceAccount"])
        sa.update(ID=sa_id, namespace=f"ns/{sa_id}", status="ACTIVE")
        self.sas[sa_id] = {"serviceAccount": sa,
                           "clientConfiguration": dict(body.get("clientConfiguration") or {}),
                           "api": bool(body.get("apiKeyEnabled"))}
        resp = {"clientID": sa_id, "clientName": sa["name"],
                "tokenURI": "https://emu.test/v1/auth/sa/oauth/token"}
        if body.get("apiKeyEnabled"):
            resp.update(apiKeyID=self._id("ak"), apiKey="sky-abcde-" + "0" * 28 + sa_id[-4:])
            self.api_keys[resp["apiKeyID"]] = {"keyID": resp["apiKeyID"], "saID": sa_id,
                                               "status": "ACTIVE",
                                               "keyValidAfterTime": "2026-01-01T00:00:00Z"}
        else:
            resp.update(keyID=self._id("k"))
            self.keys[resp["keyID"]] = {"keyID": resp["keyID"], "saID": sa_id,
                                        "validAfterTime": "2026-01-01T00:00:00Z",
                                        "validBeforeTime": "2027-01-01T00:00:00Z"}
            resp.update(privateKey=TEST_PEM.format(n=sa_id),
                        keyValidAfterTime="2026-01-01T00:00:00Z",
                        keyValidBeforeTime="2027-01-01T00:00:00Z", keyAlgorithm="KEY_ALG_RSA_2048")
        self._record("POST", "/v1/serviceAccounts", f"SERVICE_ACCOUNT/{sa_id}",
                     f"KEY/{resp.get('keyID') or resp.get('apiKeyID')}")
        return resp

    def get_service_account(self, id: str) -> dict[str, Any]:
        self.calls.append("get_service_account")
        if id not in self.sas:
            raise self._nf("service account")
        sa = self.sas[id]
        return {"serviceAccount": dict(sa["serviceAccount"]),
                "clientConfiguration": dict(sa["clientConfiguration"])}

    def update_service_account(self, id: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append("update_service_account")
        if id not in self.sas:
            raise self._nf("service account")
        self.sas[id]["serviceAccount"].update(body.get("serviceAccount") or {})
        self.sas[id]["clientConfiguration"].update(body.get("clientConfiguration") or {})
        return dict(self.sas[id]["serviceAccount"])

    def delete_service_account(self, id: str) -> dict[str, Any]:
        self.calls.append("delete_service_account")
        if self.sas.pop(id, None) is None:
            raise self._nf("service account")
        return {"ID": id}

    # api keys / key pairs
    def create_api_key(self, sa_id: str) -> dict[str, Any]:
        self.calls.append("create_api_key")
        if sa_id not in self.sas:
            raise self._nf("service account")
        if not self.sas[sa_id]["api"]:
            raise InvalidArgumentError("JWT service accounts cannot have API keys", status=400)
        key_id = self._id("ak")
        self.api_keys[key_id] = {"keyID": key_id, "saID": sa_id, "status": "ACTIVE",
                                 "keyValidAfterTime": "2026-01-02T00:00:00Z"}
        self._record("POST", f"/v1/serviceAccounts/{sa_id}/apikey", f"SERVICE_ACCOUNT/{sa_id}",
                     f"KEY/{key_id}")
        return {"clientID": sa_id, "apiKeyID": key_id, "apiKey": "sky-zzzzz-" + "1" * 32}

    def get_api_key(self, sa_id: str, key_id: str) -> dict[str, Any]:
        if key_id not in self.api_keys:
            raise self._nf("API key")
        return dict(self.api_keys[key_id])

    def delete_api_key(self, sa_id: str, key_id: str) -> dict[str, Any]:
        if self.api_keys.pop(key_id, None) is None:
            raise self._nf("API key")
        return {"ID": sa_id, "keyID": key_id}

    def create_key(self, sa_id: str) -> dict[str, Any]:
        key_id = self._id("k")
        if sa_id in self.sas and self.sas[sa_id]["api"]:
            raise InvalidArgumentError("API-key service accounts have no key pairs", status=400)
        self.keys[key_id] = {"keyID": key_id, "saID": sa_id, "validAfterTime": "a",
                             "validBeforeTime": "b"}
        self._record("POST", f"/v1/serviceAccounts/{sa_id}/keys", f"SERVICE_ACCOUNT/{sa_id}",
                     f"KEY/{key_id}")
        return {"clientID": sa_id, "clientName": "n", "tokenURI": "https://emu.test/t",
                "keyID": key_id, "privateKey": TEST_PEM.format(n=key_id),
                "keyValidAfterTime": "a", "keyValidBeforeTime": "b",
                "keyAlgorithm": "KEY_ALG_RSA_2048"}

    def get_key(self, sa_id: str, key_id: str) -> dict[str, Any]:
        if key_id not in self.keys:
            raise self._nf("key")
        return dict(self.keys[key_id])

    def delete_key(self, sa_id: str, key_id: str) -> dict[str, Any]:
        if self.keys.pop(key_id, None) is None:
            raise self._nf("key")
        return {"ID": sa_id, "keyID": key_id}

    def list_keys(self, sa_id: str) -> list[Any]:
        self.calls.append("list_keys")
        return [dict(k) for k in self.keys.values() if k.get("saID") == sa_id]

    def list_api_keys(self, sa_id: str) -> list[Any]:
        self.calls.append("list_api_keys")
        return [dict(k) for k in self.api_keys.values() if k.get("saID") == sa_id]

    def rotate_key(self, sa_id: str, key_id: str) -> dict[str, Any]:
        self.calls.append("rotate_key")
        self.delete_key(sa_id, key_id)
        return self.create_key(sa_id)

    def rotate_api_key(self, sa_id: str, key_id: str) -> dict[str, Any]:
        self.calls.append("rotate_api_key")
        if key_id not in self.api_keys:
            raise self._nf("API key")
        self.secret_serial = getattr(self, "secret_serial", 0) + 1
        return {"clientID": sa_id, "apiKeyID": key_id,
                "apiKey": "sky-rrrrr-" + str(self.secret_serial).rjust(32, "2")}

    # roles
    def list_roles(self, resource_id: str, resource_type: str = "VAULT",
                   name: str | None = None, type: str | None = None) -> list[Any]:
        self.calls.append("list_roles")
        return [r for r in self.roles.values() if r["resource"]["ID"] == resource_id
                and (name is None or r["definition"]["name"] == name)]

    def create_role(self, body: dict[str, Any]) -> dict[str, Any]:
        role_id = self._id("r")
        self.roles[role_id] = {"ID": role_id, "definition": dict(body["roleDefinition"]),
                               "resource": dict(body["resource"]), "namespace": f"ns/{role_id}"}
        self._record("POST", "/v1/roles", f"ROLE/{role_id}")
        return {"ID": role_id}

    def get_role(self, id: str) -> dict[str, Any]:
        if id not in self.roles:
            raise self._nf("role")
        return {"role": self.roles[id]}

    def update_role(self, id: str, body: dict[str, Any]) -> dict[str, Any]:
        self.get_role(id)
        self.roles[id]["definition"] = dict(body["roleDefinition"])
        return {"ID": id}

    def delete_role(self, id: str) -> dict[str, Any]:
        if self.roles.pop(id, None) is None:
            raise self._nf("role")
        return {"ID": id}

    def assign_role(self, role_id: str, members: list[Any], condition: str | None = None
                    ) -> dict[str, Any]:
        self.calls.append("assign_role")
        self.get_role(role_id)
        current = self.members.setdefault(role_id, [])
        for m in members:
            if any(c["ID"] == m["ID"] for c in current):
                if self.conflict_on_assign:
                    raise ConflictError("already assigned", status=409)
                continue
            current.append({**m, "condition": condition})
        return {"ID": role_id}

    def unassign_role(self, role_id: str, members: list[Any]) -> dict[str, Any]:
        self.calls.append("unassign_role")
        ids = {m["ID"] for m in members}
        self.members[role_id] = [m for m in self.members.get(role_id, []) if m["ID"] not in ids]
        return {"ID": role_id}

    def list_role_members(self, role_id: str) -> list[Any]:
        self.calls.append("list_role_members")
        self.get_role(role_id)
        return list(self.members.get(role_id, []))

    def list_member_roles(self, member_id: str, member_type: str = "SERVICE_ACCOUNT"
                          ) -> list[Any]:
        self.calls.append("list_member_roles")
        if member_type == "SERVICE_ACCOUNT" and member_id not in self.sas:
            raise self._nf("service account")
        return [{"role": dict(self.roles[rid]), "resource": dict(self.roles[rid]["resource"])}
                for rid, ms in self.members.items() if rid in self.roles
                and any(m["ID"] == member_id for m in ms)]

    # policies
    def create_policy(self, body: dict[str, Any]) -> dict[str, Any]:
        pid = self._id("p")
        rules = [{"ID": self._id("rule"), "name": r["name"]} for r in body["ruleParams"]]
        self.policies[pid] = {"ID": pid, "name": body["name"], "displayName": body["displayName"],
                              "description": body["description"], "resource": body["resource"],
                              "status": "ACTIVE" if body.get("activated") else "INACTIVE",
                              "rules": rules, "ruleParams": body["ruleParams"]}
        self._record("POST", "/v1/policies", f"POLICY/{pid}")
        return {"ID": pid}

    def get_policy(self, id: str) -> dict[str, Any]:
        if id not in self.policies:
            raise self._nf("policy")
        p = {k: val for k, val in self.policies[id].items() if k != "ruleParams"}
        return {"policy": p}

    def update_policy(self, id: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append("update_policy")
        p = self.policies[id]
        p.update(name=body["policy"]["name"], displayName=body["policy"]["displayName"],
                 description=body["policy"]["description"], ruleParams=body["ruleParams"])
        p["rules"] = [{"ID": r.get("ID") or self._id("rule"), "name": r["name"]}
                      for r in body["ruleParams"]]
        return {"ID": id}

    def set_policy_status(self, id: str, status: str) -> dict[str, Any]:
        self.calls.append(f"set_policy_status:{status}")
        self.policies[id]["status"] = status
        return {"ID": id}

    def delete_policy(self, id: str) -> dict[str, Any]:
        if self.policies.pop(id, None) is None:
            raise self._nf("policy")
        return {"ID": id}

    def request(self, method: str, path: str, **_kw: Any) -> dict[str, Any]:
        self.calls.append(f"{method} {path}")
        return {}

    def assign_policy(self, policy_id: str, role_ids: list[str]) -> dict[str, Any]:
        self.calls.append(f"assign_policy:{','.join(role_ids)}")
        for r in role_ids:
            self.role_policies.setdefault(r, set()).add(policy_id)
        return {"ID": policy_id}

    def unassign_policy(self, policy_id: str, role_ids: list[str]) -> dict[str, Any]:
        self.calls.append(f"unassign_policy:{','.join(role_ids)}")
        for r in role_ids:
            self.role_policies.get(r, set()).discard(policy_id)
        return {"ID": policy_id}

    def list_role_policies(self, role_id: str) -> list[Any]:
        return [{"ID": p} for p in sorted(self.role_policies.get(role_id, set()))]

    # workspaces, vaults, users (issue 27)
    def list_workspaces(self, name: str | None = None) -> list[Any]:
        self.calls.append("list_workspaces")
        return [dict(w) for w in self.workspaces.values() if name is None or w["name"] == name]

    def get_workspace(self, id: str) -> dict[str, Any]:
        self.calls.append("get_workspace")
        if id not in self.workspaces:
            raise self._nf("workspace")
        return {"workspace": dict(self.workspaces[id])}

    def create_vault(self, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append("create_vault")
        if self.list_vaults(body["workspaceID"], name=body["name"]):
            raise ConflictError(f"a vault named {body['name']} already exists", status=409)
        vid = self._id("vault")
        self._record("POST", "/v1/vaults", f"VAULT/{vid}")
        schema = body.get("vaultSchema") or {"schemas": [], "tags": []}
        self.vaults[vid] = {"ID": vid, "name": body["name"], "description": body["description"],
                            "schemas": json.loads(json.dumps(schema["schemas"])),
                            "tags": list(schema["tags"]), "namespace": f"ns/vault:{vid}",
                            "status": "ACTIVE", "workspaceID": body["workspaceID"],
                            "templateID": body.get("templateID")}
        return {"ID": vid}

    def get_vault(self, id: str) -> dict[str, Any]:
        self.calls.append("get_vault")
        if id not in self.vaults:
            raise self._nf("vault")
        vault = {k: val for k, val in self.vaults[id].items() if k != "workspaceID"}
        return {"vault": json.loads(json.dumps(vault)),
                "workspaceID": self.vaults[id]["workspaceID"]}

    def list_vaults(self, workspace_id: str, name: str | None = None,
                    max_items: int | None = None) -> list[Any]:
        found = [dict(vt) for vt in self.vaults.values() if vt["workspaceID"] == workspace_id
                 and (name is None or vt["name"] == name)]
        return found[:max_items] if max_items is not None else found

    def update_vault(self, id: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append("update_vault")
        if id not in self.vaults:
            raise self._nf("vault")
        vault = self.vaults[id]
        vault.update(name=body.get("name", vault["name"]),
                     description=body.get("description", vault["description"]))
        if body.get("vaultSchema") is not None:
            vault["schemas"] = json.loads(json.dumps(body["vaultSchema"]["schemas"]))
            vault["tags"] = list(body["vaultSchema"]["tags"])
        return {"ID": id}

    def delete_vault(self, id: str) -> dict[str, Any]:
        self.calls.append("delete_vault")
        if self.vaults.pop(id, None) is None:
            raise self._nf("vault")
        return {"ID": id}

    def create_user(self, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append("create_user")
        if self.list_users(email=body["user"]["userIdentity"]["email"]):
            raise ConflictError("a user with this email already exists", status=409)
        uid = self._id("user")
        self._record("POST", "/v1/users", f"USER/{uid}")
        self.users[uid] = {"ID": uid, "name": body["user"].get("name", ""),
                           "userIdentity": dict(body["user"]["userIdentity"]),
                           "status": "ACTIVE"}
        return {"ID": uid}

    def get_user(self, id: str) -> dict[str, Any]:
        self.calls.append("get_user")
        if id not in self.users:
            raise self._nf("user")
        return {"user": dict(self.users[id])}

    def list_users(self, email: str | None = None) -> list[Any]:
        return [dict(u) for u in self.users.values()
                if email is None or u["userIdentity"]["email"].lower() == email.lower()]

    def update_user(self, id: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append("update_user:" + ",".join(f"{k}={val}" for k, val in
                                                    sorted(body["user"].items())))
        if id not in self.users:
            raise self._nf("user")
        self.users[id].update(body["user"])
        return {"ID": id}

    def delete_user(self, id: str) -> dict[str, Any]:
        self.calls.append("delete_user")
        if self.users.pop(id, None) is None:
            raise self._nf("user")
        return {"ID": id}

    # look-ups used by skyflow_provider.api.idempotency (not recorded in calls: reads only)
    def list_service_accounts(self, name: str | None = None, status: str | None = None,
                              max_items: int | None = None) -> list[Any]:
        found = [dict(sa) for sa in self.sas.values()
                 if name is None or sa["serviceAccount"].get("name") == name]
        return found[:max_items] if max_items is not None else found

    def list_policies(self, resource_id: str, resource_type: str = "VAULT",
                      name: str | None = None, max_items: int | None = None) -> list[Any]:
        found = [dict(p) for p in self.policies.values()
                 if p["resource"].get("ID") == resource_id and (name is None or p["name"] == name)]
        return found[:max_items] if max_items is not None else found


# --------------------------------------------------------------------------- RSA credentials


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
