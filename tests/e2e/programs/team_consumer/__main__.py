"""Consumer stack: an application that takes its Skyflow credentials from the identities stack.

This is how other teams' stacks get credentials without anyone copying a credentials.json:
``StackReference`` reads the identities stack's outputs from the same state backend, and a
secret output stays a secret here (encrypted in this stack's state with this stack's key).

Config: ``identitiesStack`` (e.g. ``organization/skyflow-identities/dev``), ``service``
(default ``payments-api``).
"""

from __future__ import annotations

import json

import pulumi

cfg = pulumi.Config()
identities = pulumi.StackReference(cfg.require("identitiesStack"))
service = cfg.get("service") or "payments-api"

credentials = identities.require_output(f"{service}_credentials")
details: pulumi.Output[pulumi.StackReferenceOutputDetails] = pulumi.Output.from_input(
    identities.get_output_details(f"{service}_credentials")
)

# The whole credentials.json, still a secret: hand it to the app's runtime secret store.
pulumi.export("credentials", credentials)
# Derived from a secret, so also a secret; the test compares it with the plain client id.
pulumi.export("credentials_client_id", credentials.apply(lambda text: json.loads(text)["clientID"]))
pulumi.export("client_id", identities.require_output(f"{service}_client_id"))
# Did the reference hand the value over as a secret (not as plaintext)? A plain bool output.
pulumi.export("arrived_as_secret", details.apply(lambda d: d.secret_value is not None))
