"""Stacks that share a Skyflow account, for the ownership tests (issue 22).

Config: ``prefix`` (names); ``account`` ("jwt" or "api_key": one account of that kind, the one
another project adds keys to); ``on`` (an account id) with ``keys`` (how many) and ``keykind``
("jwt": ``ServiceAccountKey``, "api_key": ``ApiKey``): extra keys on that account; ``named`` (a
base name): an account, a role and a policy named from it, the same names in every stack that
sets the same value.
"""

from __future__ import annotations

import os

import pulumi

from skyflow_provider import ApiKey, Policy, Role, ServiceAccount, ServiceAccountKey

cfg = pulumi.Config()
prefix = cfg.require("prefix")
account = cfg.get("account")
on = cfg.get("on")
named = cfg.get("named")

if account:
    shared = ServiceAccount("shared", name=f"{prefix}-shared", auth_type=account)
    pulumi.export("shared_id", shared.id)
    secret = shared.api_key if account == "api_key" else shared.credentials
    pulumi.export("shared_secret", pulumi.Output.secret(secret))

if on:
    kind = cfg.get("keykind") or "jwt"
    for i in range(cfg.get_int("keys") or 0):
        if kind == "api_key":
            ApiKey(f"key-{i}", service_account_id=on, service_account_auth_type="api_key")
        else:
            ServiceAccountKey(f"key-{i}", service_account_id=on, service_account_auth_type="jwt")

if named:
    vault = os.environ["SKYFLOW_VAULT_ID"]
    svc = ServiceAccount("svc", name=f"{named}-api")
    role = Role("reader", vault_id=vault, name=f"{named}-reader",
                permissions=["vault.read", "record.read"])
    policy = Policy("policy", vault_id=vault, name=f"{named}Policy".replace("-", ""),
                    rules=[{"name": "ReadMasked", "rule_expression":
                            "ALLOW READ ON persons.* WITH REDACTION = MASKED"}])
    pulumi.export("svc_id", svc.id)
    pulumi.export("svc_credentials", pulumi.Output.secret(svc.credentials))
    pulumi.export("role_id", role.id)
    pulumi.export("policy_id", policy.id)
