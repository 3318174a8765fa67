"""An API key on a JWT account: only Skyflow can refuse it (the id is unknown at preview)."""

from skyflow_provider import ApiKey, ServiceAccount

sa = ServiceAccount("jwt-account", name="apikey-on-jwt")
ApiKey("key", service_account_id=sa.id)
