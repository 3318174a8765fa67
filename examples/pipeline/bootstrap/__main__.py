"""Bootstrap stack: the pipeline's own keyless Skyflow identities, made ONCE with admin
credentials (docs/keyless.md). After it, the workflow (.github/workflows/skyflow.yml) holds no
Skyflow credential: each job exchanges its GitHub OIDC token at Skyflow's STS.

Who runs it, and when: an account admin, from a workstation with admin credentials
(SKYFLOW_CREDENTIALS_FILE), once before the first pipeline run, and again only to change what
the pipeline may do (its roles, branch or environment). See ../README.md.

Config (project namespace skyflow-pipeline-bootstrap):
  repository    org/repo whose workflow runs Pulumi (e.g. acme/identities)
  ref           the branch allowed to deploy (default refs/heads/main)
  environment   the GitHub environment the deploy job runs in, required as well (optional;
                the workflow's up job uses skyflow-prod)
  deployRoles   roles of the deploying identity (main): role ids, or {vault_id, role_name}
  previewRoles  roles of the pull requests' identity (pulumi preview): read-only ones
  issuer, jwksUri  GitHub Enterprise Server's issuer (https://HOST/_services/token) and keys;
                default GitHub.com's
"""

import pulumi

from skyflow_provider import GitHubActionsIdentity

cfg = pulumi.Config()
repository = cfg.require("repository")
# GitHub.com's issuer unless another is configured (GitHub Enterprise Server)
trust = {k: v for k, v in (("issuer", cfg.get("issuer")), ("jwks_uri", cfg.get("jwksUri"))) if v}
name = "gha-" + repository.replace("/", "-")

# main (and the environment, when set): what `pulumi up` needs.
deploy = GitHubActionsIdentity(
    "deploy",
    repository=repository,
    ref=cfg.get("ref") or "refs/heads/main",
    environment=cfg.get("environment"),
    roles=cfg.require_object("deployRoles"),
    account_name=f"{name}-deploy",
    **trust,
)
# The repository's pull requests: read-only, for `pulumi preview`.
preview = GitHubActionsIdentity(
    "preview",
    repository=repository,
    pull_request=True,
    roles=cfg.require_object("previewRoles"),
    account_name=f"{name}-preview",
    **trust,
)
# Ids, not secrets: the workflow's vars.SKYFLOW_DEPLOY_SERVICE_ACCOUNT_ID and
# vars.SKYFLOW_PREVIEW_SERVICE_ACCOUNT_ID.
pulumi.export("deploy_service_account_id", deploy.service_account_id)
pulumi.export("preview_service_account_id", preview.service_account_id)
pulumi.export("deploy_condition", deploy.condition)
pulumi.export("preview_condition", preview.condition)
