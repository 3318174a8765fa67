"""Two explicit providers (one Skyflow account each; here both point at one emulator, one with a
credentials file, one with the credentials text as a secret) and, once imported, an account that
was made outside Pulumi, on the default provider (the SKYFLOW_* environment)."""

import os

import pulumi
import pulumi_skyflow as skyflow

cfg = pulumi.Config()
vault_id = os.environ["SKYFLOW_VAULT_ID"]
common = {"management_url": os.environ["SKYFLOW_MANAGEMENT_URL"],
          "account_id": os.environ["SKYFLOW_ACCOUNT_ID"],
          "ca_bundle": os.environ["SKYFLOW_CA_BUNDLE"]}
from_file = skyflow.Provider("from-file", credentials_file=os.environ["SKYFLOW_CREDENTIALS_FILE"],
                             **common)
from_text = skyflow.Provider("from-text", credentials=cfg.require_secret("adminCredentials"),
                             **common)

payments = skyflow.ServiceAccount("payments", name="py-native-payments",
                                  opts=pulumi.ResourceOptions(provider=from_file))
reporting = skyflow.ServiceAccount("reporting", name="py-native-reporting",
                                   auth_type=skyflow.AuthType.API_KEY,
                                   opts=pulumi.ResourceOptions(provider=from_text))
editor = skyflow.get_system_role_output(vault_id=vault_id, name=skyflow.SystemRoleName.VAULT_EDITOR,
                                        opts=pulumi.InvokeOptions(provider=from_file))
skyflow.RoleAssignment("payments-editor", role_id=editor.role_id, service_account_id=payments.id,
                       opts=pulumi.ResourceOptions(provider=from_file))
pulumi.export("payments_client_id", payments.client_id)
pulumi.export("payments_credentials", payments.credentials)
pulumi.export("reporting_api_key", reporting.api_key)

if cfg.get_bool("declareImported"):
    # `pulumi import skyflow:index:ServiceAccount legacy <clientID>` put it in the state; this
    # declaration with its current settings keeps it as it is (no replacement).
    legacy = skyflow.ServiceAccount("legacy", name="py-native-legacy",
                                    description="made outside Pulumi")
    pulumi.export("legacy_client_id", legacy.client_id)
