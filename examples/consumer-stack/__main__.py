"""A consumer stack: "stack outputs for other services".

The identities stack (the reference stack of `make up`, project ``skyflow-identities``) exports
``<service>_client_id`` and, as a secret, ``<service>_credentials``. This program reads them
through a ``StackReference`` and uses them the way a service's deployment would:

* it mints a bearer token with the credentials inside an ``apply`` (proving at deploy time that
  they work) and exports only a non-secret fact about it, ``token_expires_at``; the token itself
  never leaves the program;
* it hands the credentials on as a secret ``service_config`` (what a deployment would put into
  a Kubernetes secret or a config file), still encrypted in this stack's state.

Config: ``producerStack`` (default ``organization/skyflow-identities/dev``), ``service``
(default ``payments-api``), ``skyflow:caBundle`` or env ``SKYFLOW_CA_BUNDLE`` for a private CA
such as the emulator's.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import pulumi

from skyflow_provider.auth.tokens import generate_bearer_token_from_creds, token_expiry

cfg = pulumi.Config()
service = cfg.require("service")
producer = pulumi.StackReference(cfg.require("producerStack"))

client_id: pulumi.Output[str] = producer.require_output(f"{service}_client_id")
# Secret in the producer already; wrapping again keeps it secret even if that ever changed.
credentials: pulumi.Output[str] = pulumi.Output.secret(
    producer.require_output(f"{service}_credentials"))
ca_bundle = (pulumi.Config("skyflow").get("caBundle")
             or os.environ.get("SKYFLOW_CA_BUNDLE") or None)


def mint_token(creds: str) -> str:
    """Exchange the credentials for a bearer token (runs in preview too: fails early if revoked)."""
    token, _token_type = generate_bearer_token_from_creds(creds, ca_bundle=ca_bundle)
    return token


def expiry_iso(token: str) -> str:
    """The token's ``exp`` as ISO 8601 UTC: the only thing about the token worth showing."""
    exp = token_expiry(token)
    if exp is None:
        raise ValueError("the token endpoint returned a token without an exp claim")
    return datetime.fromtimestamp(exp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# Secret twice over: derived from secret credentials, and marked so explicitly. It is not
# exported; were it ever passed to a resource or an export, Pulumi would encrypt and mask it.
token: pulumi.Output[str] = pulumi.Output.secret(credentials.apply(mint_token))

# The expiry reveals nothing about the token: unsecret it on purpose so it shows in outputs.
pulumi.export("token_expires_at", pulumi.Output.unsecret(token.apply(expiry_iso)))
pulumi.export("client_id", client_id)
pulumi.export(
    "service_config",
    pulumi.Output.secret(
        pulumi.Output.all(client_id, credentials).apply(
            lambda args: json.dumps({"service": service, "clientID": args[0],
                                     "credentials": json.loads(args[1])})
        )
    ),
)
