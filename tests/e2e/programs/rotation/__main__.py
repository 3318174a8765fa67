"""Issue 6's program: keys that rotate, shaped entirely by stack config.

* ``name``: a JWT ServiceAccount (``trigger``, ``rotateAfterDays``, ``overlapHours``,
  ``adoptId``, ``exclusiveKeys``);
* ``keyTrigger`` set: plus a ServiceAccountKey on it (``keyOverlapHours``);
* ``apiName``: an API-key ServiceAccount plus an ApiKey (``apiTrigger``, ``apiOverlapHours``).
"""

import pulumi

from skyflow_provider import ApiKey, ServiceAccount, ServiceAccountKey

cfg = pulumi.Config()

if cfg.get("name"):
    sa = ServiceAccount(
        "svc",
        name=cfg.require("name"),
        rotation_trigger=cfg.get("trigger"),
        rotate_after_days=cfg.get_float("rotateAfterDays"),
        overlap_hours=cfg.get_float("overlapHours"),
        adopt_id=cfg.get("adoptId"),
        exclusive_keys=cfg.get_bool("exclusiveKeys"),
    )
    pulumi.export("client_id", sa.client_id)
    pulumi.export("key_id", sa.key_id)
    pulumi.export("credentials", sa.credentials)
    pulumi.export("previous_key_id", sa.previous_key_id)
    pulumi.export("previous_credentials", sa.previous_credentials)
    pulumi.export("valid_before", sa.valid_before)
    pulumi.export("next_rotation_at", sa.next_rotation_at)
    if cfg.get("keyTrigger"):
        key = ServiceAccountKey(
            "svc-key",
            service_account=sa,
            rotation_trigger=cfg.get("keyTrigger"),
            overlap_hours=cfg.get_float("keyOverlapHours"),
        )
        pulumi.export("key_key_id", key.key_id)
        pulumi.export("key_credentials", key.credentials)
        pulumi.export("key_previous_key_id", key.previous_key_id)
        pulumi.export("key_previous_credentials", key.previous_credentials)

if cfg.get("apiName"):
    api = ServiceAccount("api", name=cfg.require("apiName"), auth_type="api_key")
    extra = ApiKey(
        "api-key",
        service_account=api,
        rotation_trigger=cfg.get("apiTrigger"),
        overlap_hours=cfg.get_float("apiOverlapHours"),
    )
    pulumi.export("api_client_id", api.client_id)
    pulumi.export("api_key_id", extra.key_id)
    pulumi.export("api_key", extra.api_key)
    pulumi.export("api_previous_key_id", extra.previous_key_id)
    pulumi.export("api_previous_api_key", extra.previous_api_key)

if cfg.get("roleAdoptId"):
    import os

    from skyflow_provider import Role

    role = Role(
        "adopted-role",
        vault_id=os.environ["SKYFLOW_VAULT_ID"],
        name=cfg.require("roleName"),
        description="managed by pulumi",
        permissions=["vault.read"],
        adopt_id=cfg.get("roleAdoptId"),
    )
    pulumi.export("role_id", role.id)
