"""What the pipeline manages, run keyless: one service account; with config ``unsafe`` an
StsConfig that preview must refuse."""

import pulumi

from skyflow_provider import ServiceAccount, StsConfig

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
else:
    sa = ServiceAccount("svc", name=cfg.require("name"))
    pulumi.export("client_id", sa.client_id)
    pulumi.export("credentials", sa.credentials)
