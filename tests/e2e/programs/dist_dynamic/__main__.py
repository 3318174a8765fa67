"""The README's quick start (dynamic resources), plus two outputs the test checks: which pulumi
SDK ran it and where skyflow_provider was imported from (the venv, never the repository)."""

import os
from importlib.metadata import version

import pulumi

import skyflow_provider
from skyflow_provider import RoleAssignment, ServiceAccount

prefix = pulumi.Config().get("namePrefix") or "dist"
payments = ServiceAccount("payments", name=f"{prefix}-payments-api", description="Payments API")
RoleAssignment("payments-editor", service_account_id=payments.id,
               vault_id=os.environ["SKYFLOW_VAULT_ID"], role_name="VAULT_EDITOR")
pulumi.export("client_id", payments.client_id)
pulumi.export("credentials", payments.credentials)  # credentials.json text, a secret output
pulumi.export("pulumi_sdk", version("pulumi"))
pulumi.export("provider_module", skyflow_provider.__file__)
