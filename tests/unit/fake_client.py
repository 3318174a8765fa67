"""An in-memory stand-in for ManagementClient, for unit tests of provider CRUD logic only.

End-to-end behaviour is tested against the real emulator; this fake only needs the method
names and response shapes of design.md / the OpenAPI spec.
"""

from __future__ import annotations

import itertools
from typing import Any

from skyflow_provider.errors import ConflictError, InvalidArgumentError, NotFoundError

TEST_PEM = "-----BEGIN PRIVATE KEY-----\nFAKEKEYMATERIAL{n}\n-----END PRIVATE KEY-----\n"


class FakeClient:
    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.calls: list[str] = []
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

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):04d}"

    def _nf(self, what: str) -> NotFoundError:
        return NotFoundError(f"{what} not found", status=404)

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

    # look-ups used by skyflow_provider.idempotency (not recorded in calls: reads only)
    def list_service_accounts(self, name: str | None = None,
                              status: str | None = None) -> list[Any]:
        return [dict(sa) for sa in self.sas.values()
                if name is None or sa["serviceAccount"].get("name") == name]

    def list_policies(self, resource_id: str, resource_type: str = "VAULT",
                      name: str | None = None) -> list[Any]:
        return [dict(p) for p in self.policies.values()
                if p["resource"].get("ID") == resource_id and (name is None or p["name"] == name)]
