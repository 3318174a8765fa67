"""First start: account, workspace, vault, system roles, admin service account; files in the
data dir.

Later starts reuse everything and only rewrite the files whose URLs depend on the port (a data
dir from before workspaces existed gets its workspace then).
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from .auth import KeyPair, new_rsa_keypair
from .models.workspaces import ensure_seeded
from .permissions import SYSTEM_ACCOUNT_ROLES, SYSTEM_VAULT_ROLES
from .store import Store, Tx
from .util import audit, new_id, now, rfc3339
from .views import sa_namespace

SYSTEM = "SYSTEM"


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def system_role(account_id: str, name: str, resource: dict[str, Any],
                spec: tuple[str, str, list[str]]) -> dict[str, Any]:
    display, description, perms = spec
    role_id = new_id()
    return {
        "ID": role_id,
        "accountID": account_id,
        "namespace": f"skyflow:emulator/account:{account_id}/role:{role_id}",
        "definition": {"name": name, "displayName": display, "description": description,
                       "permissions": perms, "levels": [resource["type"]], "type": "SYSTEM"},
        "resource": resource,
        "BasicAudit": audit(SYSTEM),
    }


def new_jwt_key(sa_id: str, pair: KeyPair | None = None) -> tuple[dict[str, Any], str]:
    """A key document (public half only) and the private PEM to show once; ``pair`` is a
    fresh pair from the key stock, else one is generated here."""
    pair = pair or new_rsa_keypair()
    t = now()
    key = {
        "keyID": new_id(),
        "saID": sa_id,
        "publicKey": pair.public_pem,
        "keyAlgorithm": "KEY_ALG_RSA_2048",
        "validAfterTime": rfc3339(t),
        "validBeforeTime": rfc3339(t + timedelta(days=365)),
    }
    return key, pair.private_pem


def _create(tx: Tx) -> None:
    account_id = new_id()
    tx.put("account", account_id, {"ID": account_id, "name": "emulator-account"},
           account_id=account_id)
    vault_id = new_id()
    tx.put("vault", vault_id, {"ID": vault_id, "name": "Vault001", "accountID": account_id},
           account_id=account_id, parent=account_id, name="Vault001")
    vault_res = {"ID": vault_id, "type": "VAULT", "name": "Vault001", "displayName": "Vault001"}
    for name, spec in SYSTEM_VAULT_ROLES.items():
        role = system_role(account_id, name, vault_res, spec)
        tx.put("role", role["ID"], role, account_id=account_id, parent=vault_id, name=name)
    acct_res = {"ID": account_id, "type": "ACCOUNT", "name": "emulator-account"}
    admin_role = ""
    for name, spec in SYSTEM_ACCOUNT_ROLES.items():
        role = system_role(account_id, name, acct_res, spec)
        tx.put("role", role["ID"], role, account_id=account_id, parent=account_id, name=name)
        admin_role = role["ID"]
    sa_id = new_id()
    sa: dict[str, Any] = {
        "ID": sa_id, "accountID": account_id, "name": "emulator-admin",
        "displayName": "Emulator admin", "description": "Bootstrap account admin",
        "namespace": sa_namespace(account_id, sa_id), "status": "ACTIVE",
        "BasicAudit": audit(SYSTEM), "clientConfiguration": {"enforceContextID": False,
                                                             "enforceSignedDataTokens": False},
        "ipAllowlist": {"status": "INACTIVE", "cidrBlocks": []},
        "apiKeyEnabled": False,
    }
    tx.put("sa", sa_id, sa, account_id=account_id, name="emulator-admin")
    key, private_pem = new_jwt_key(sa_id)
    tx.put("sakey", key["keyID"], key, account_id=account_id, parent=sa_id)
    tx.add_member(admin_role, sa_id, "SERVICE_ACCOUNT", None)
    tx.meta_set("account_id", account_id)
    tx.meta_set("admin_sa_id", sa_id)
    tx.meta_set("admin_key_id", key["keyID"])
    # The admin's private key is kept so admin-credentials.json can be rewritten when the
    # port changes; it never leaves the data dir.
    tx.meta_set("admin_private_key", private_pem)
    tx.meta_set("signing_key", new_rsa_keypair().private_pem)


def bootstrap(store: Store) -> tuple[str, str, str]:
    """Returns (account_id, admin_sa_id, signing_key_pem); creates them on first start."""
    with store.write() as tx:
        if tx.meta_get("account_id") is None:
            _create(tx)
        ensure_seeded(tx, str(tx.meta_get("account_id")))
        return (str(tx.meta_get("account_id")), str(tx.meta_get("admin_sa_id")),
                str(tx.meta_get("signing_key")))


def write_files(store: Store, data_dir: Path, base_url: str, https: bool) -> None:
    """admin-credentials.json, account.json and admin-token (new each start)."""
    with store.read() as tx:
        account_id = str(tx.meta_get("account_id"))
        sa_id = str(tx.meta_get("admin_sa_id"))
        key = tx.get("sakey", str(tx.meta_get("admin_key_id")))
        sa = tx.get("sa", sa_id)
        private_pem = str(tx.meta_get("admin_private_key"))
        vaults = tx.find("vault", account_id=account_id)
        workspaces = tx.find("workspace", account_id=account_id)
    if key is not None and sa is not None:
        creds = {
            "clientID": sa_id, "clientName": sa["name"],
            "tokenURI": base_url + "/v1/auth/sa/oauth/token", "keyID": key["keyID"],
            "privateKey": private_pem, "keyValidAfterTime": key["validAfterTime"],
            "keyValidBeforeTime": key["validBeforeTime"], "keyAlgorithm": key["keyAlgorithm"],
        }
        # One line, as Skyflow's download: the SDKs' from-text functions turn every newline into
        # the two characters \n before parsing, so pretty-printed JSON would not parse there.
        _write_private(data_dir / "admin-credentials.json",
                       json.dumps(creds, separators=(",", ":")))
    account = {
        "accountID": account_id,
        "managementURL": base_url,
        "vaults": [{"ID": v["ID"], "name": v["name"]} for v in vaults],
        "workspaces": [{"ID": w["ID"], "name": w["name"]} for w in workspaces],
        "caBundle": str(data_dir / "ca.pem") if https else None,
    }
    tmp = data_dir / "account.json.tmp"
    tmp.write_text(json.dumps(account, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, data_dir / "account.json")


def new_admin_token(data_dir: Path) -> str:
    token = secrets.token_urlsafe(32)
    _write_private(data_dir / "admin-token", token + "\n")
    return token
