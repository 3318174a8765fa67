"""Bootstrap stack: run ONCE from a workstation with admin credentials. It declares the pipeline's
keyless identity, so the workflow itself never holds a Skyflow credential (docs/keyless.md).

Config (project namespace skyflow-pipeline-bootstrap):
  repository   org/repo whose workflow runs `pulumi up` (e.g. acme/identities)
  ref          the branch allowed to deploy (default refs/heads/main)
  environment  optional GitHub environment required as well (e.g. skyflow-prod)
  roleIds      the role ids the pipeline needs (e.g. a custom account-level admin role)
"""

import pulumi

from skyflow_provider import GitHubActionsIdentity

cfg = pulumi.Config()
pipeline = GitHubActionsIdentity(
    "pipeline",
    repository=cfg.require("repository"),
    ref=cfg.get("ref") or "refs/heads/main",
    environment=cfg.get("environment"),
    roles=cfg.require_object("roleIds"),
)
# Not secret: give it to the workflow as vars.SKYFLOW_PIPELINE_SERVICE_ACCOUNT_ID.
pulumi.export("pipeline_service_account_id", pipeline.service_account_id)
pulumi.export("condition", pipeline.condition)
