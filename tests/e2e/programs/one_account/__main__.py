"""One JWT service account, shaped by config: the walking skeleton's program."""

import pulumi

from skyflow_provider import ServiceAccount

cfg = pulumi.Config()
sa = ServiceAccount(
    "svc",
    name=cfg.require("name"),
    display_name=cfg.get("displayName"),
    description=cfg.get("description"),
)
pulumi.export("client_id", sa.client_id)
pulumi.export("key_id", sa.key_id)
pulumi.export("credentials", sa.credentials)
