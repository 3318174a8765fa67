"""What the pipeline manages, run keyless (tests/e2e/test_keyless.py).

Config: ``name`` and the cluster's ``clusterIssuer`` / ``clusterJwks``: one service account and a
workload's KubernetesIdentity (pod payments/api, VAULT_VIEWER on ``vaultId``); with ``count``,
that many service accounts only (the killed-run test); with ``unsafe``, an StsConfig that preview
must refuse.
"""

import pulumi

from skyflow_provider import KubernetesIdentity, ServiceAccount, StsConfig

cfg = pulumi.Config()
unsafe = cfg.get("unsafe")
if unsafe:
    base = {"name": "unsafe", "issuer": "https://token.actions.githubusercontent.com",
            "public_key_jwk_uri": "https://token.actions.githubusercontent.com/.well-known/jwks",
            "service_account_ids": ["abc123"], "context_claims": ["repository"]}
    cases = {
        "http-issuer": {"issuer": "http://issuer.example.com"},
        "http-jwks": {"public_key_jwk_uri": "http://issuer.example.com/jwks"},
        "no-accounts": {"service_account_ids": []},
        "github-without-repository": {"context_claims": ["ref", "environment"]},
        "gitlab-without-project": {"issuer": "https://gitlab.com", "context_claims": ["ref"]},
    }
    StsConfig("unsafe", **{**base, **cases[unsafe]})
elif cfg.get("count"):
    for i in range(int(cfg.require("count"))):
        ServiceAccount(f"sa-{i}", name=f"{cfg.require('name')}-{i}")
else:
    sa = ServiceAccount("svc", name=cfg.require("name"))
    pulumi.export("client_id", sa.client_id)
    pulumi.export("credentials", sa.credentials)
    pod = KubernetesIdentity(
        "payments", issuer=cfg.require("clusterIssuer"), jwks_uri=cfg.require("clusterJwks"),
        namespace="payments", service_account="api",
        roles=[{"vault_id": cfg.require("vaultId"), "role_name": "VAULT_VIEWER"}])
    pulumi.export("pod_service_account_id", pod.service_account_id)
    pulumi.export("pod_condition", pod.condition)
