"""Bootstrap (admin credentials): the pipeline's keyless identity, declared once."""

import pulumi

from skyflow_provider import GitHubActionsIdentity

cfg = pulumi.Config()
identity = GitHubActionsIdentity(
    "pipeline",
    repository=cfg.require("repository"),
    ref=cfg.require("ref"),
    roles=[cfg.require("adminRoleId")],
    account_name=cfg.require("accountName"),
    issuer=cfg.require("issuer"),  # the test's issuer instead of GitHub's
    jwks_uri=cfg.require("jwksUri"),
)
pulumi.export("service_account_id", identity.service_account_id)
pulumi.export("sts_config_id", identity.sts_config_id)
pulumi.export("condition", identity.condition)
