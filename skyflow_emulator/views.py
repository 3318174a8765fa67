"""JSON views of stored documents, shaped like the spec's response schemas."""

from __future__ import annotations

from typing import Any

SA_PUBLIC_FIELDS = ("name", "displayName", "description", "ipAllowlist", "ID", "namespace",
                    "status", "BasicAudit")


def sa_namespace(account_id: str, sa_id: str) -> str:
    return f"skyflow:emulator/account:{account_id}/tenant:{account_id}/serviceAccount:{sa_id}"


def sa_view(doc: dict[str, Any]) -> dict[str, Any]:
    """v1ServiceAccountInfo: never any key material."""
    return {
        "serviceAccount": {k: doc[k] for k in SA_PUBLIC_FIELDS if doc.get(k) is not None},
        "clientConfiguration": dict(doc.get("clientConfiguration") or {}),
    }


def sa_update_view(doc: dict[str, Any]) -> dict[str, Any]:
    """v1UpdateServiceAccountResponse (the flat form)."""
    keys = ("name", "displayName", "description", "ID", "namespace", "status", "BasicAudit")
    return {k: doc[k] for k in keys if doc.get(k) is not None}


def jwt_credentials(sa: dict[str, Any], key: dict[str, Any], private_pem: str,
                    token_uri: str) -> dict[str, Any]:
    """v1ServiceAccountResponse for a JWT account: exactly a credentials.json (+ empty apiKey)."""
    return {
        "clientID": sa["ID"],
        "clientName": sa["name"],
        "tokenURI": token_uri,
        "keyID": key["keyID"],
        "privateKey": private_pem,
        "keyValidAfterTime": key["validAfterTime"],
        "keyValidBeforeTime": key["validBeforeTime"],
        "apiKeyID": "",
        "apiKey": "",
        "keyAlgorithm": key["keyAlgorithm"],
    }


def api_key_credentials(sa: dict[str, Any], key: dict[str, Any], secret: str,
                        token_uri: str) -> dict[str, Any]:
    """v1ServiceAccountResponse for an API-key account: key-pair fields empty."""
    return {
        "clientID": sa["ID"],
        "clientName": sa["name"],
        "tokenURI": token_uri,
        "keyID": "",
        "privateKey": "",
        "apiKeyID": key["keyID"],
        "apiKey": secret,
        "keyAlgorithm": "KEY_ALG_UNSPECIFIED",
    }


def key_view(key: dict[str, Any]) -> dict[str, Any]:
    """v1ServiceAccountKey without key material."""
    return {k: key[k] for k in ("keyID", "keyAlgorithm", "validAfterTime", "validBeforeTime")}


def api_key_view(key: dict[str, Any]) -> dict[str, Any]:
    """v1APIKey: the identifier is the non-secret ``sky-xxxxx`` prefix."""
    return {k: key[k] for k in ("keyID", "identifier", "status", "keyValidAfterTime")}


def resource_view(res: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in res.items() if v is not None}


def role_view(role: dict[str, Any]) -> dict[str, Any]:
    return {k: role[k] for k in ("ID", "namespace", "definition", "resource", "BasicAudit")}


def member_view(member: dict[str, Any], condition: str | None) -> dict[str, Any]:
    out = dict(member)
    if condition:
        out["condition"] = condition  # emulator extension: the assignment's CEL condition
    return out


def policy_view(policy: dict[str, Any], role_ids: list[str]) -> dict[str, Any]:
    keys = ("ID", "name", "displayName", "description", "namespace", "status", "BasicAudit",
            "resource", "rules")
    out = {k: policy[k] for k in keys if policy.get(k) is not None}
    out["members"] = list(role_ids)
    return out


# ----- vaults, workspaces, users -----------------------------------------------------------------
def vault_view(vault: dict[str, Any], metadata_only: bool = False) -> dict[str, Any]:
    """``ObjectVault``; ``fetchMetadataOnly`` leaves out the schema and tags."""
    out: dict[str, Any] = {
        "ID": vault["ID"], "name": vault["name"],
        "description": vault.get("description", ""),
        "namespace": vault.get("namespace") or
        f"skyflow:emulator/account:{vault['accountID']}/vault:{vault['ID']}",
        "status": vault.get("status", "ACTIVE"),
        "BasicAudit": vault.get("BasicAudit") or {},
    }
    if not metadata_only:
        out["schemas"] = list(vault.get("schemas") or [])
        out["tags"] = list(vault.get("tags") or [])
    return out


def vault_version_entry(version: dict[str, Any]) -> dict[str, Any]:
    """``ListObjectVaultVersionResponseEntity``."""
    return {k: version[k] for k in ("versionTag", "startTime", "endTime", "schemaOperation",
                                    "BasicAudit")}


def vault_version_view(version: dict[str, Any]) -> dict[str, Any]:
    """``GetObjectVaultVersionResponse``."""
    return {**vault_version_entry(version), "vaultID": version["vaultID"],
            "schemas": list(version.get("schemas") or [])}


def workspace_view(ws: dict[str, Any], url: str) -> dict[str, Any]:
    """``v1Workspace``; ``url`` is where the workspace's vaults answer the Data API."""
    keys = ("ID", "name", "displayName", "description", "namespace", "status", "BasicAudit",
            "type", "limits", "regionID")
    return {**{k: ws[k] for k in keys if ws.get(k) is not None}, "url": url}


def user_view(user: dict[str, Any]) -> dict[str, Any]:
    """``v1User``."""
    keys = ("ID", "name", "userIdentity", "contactAddress", "status", "BasicAudit")
    return {k: user[k] for k in keys if user.get(k) is not None}
