"""A table of invalid inputs per resource: each must fail ``check`` naming the field.

``check`` runs at preview before any API call; these tests give the providers no client at all,
so any API call would raise.
"""

from __future__ import annotations

from typing import Any

import pytest

from skyflow_provider.api_key import ApiKeyProvider
from skyflow_provider.policy import PolicyProvider
from skyflow_provider.policy_assignment import PolicyAssignmentProvider
from skyflow_provider.role import RoleProvider, SystemRoleProvider
from skyflow_provider.role_assignment import RoleAssignmentProvider
from skyflow_provider.service_account import ServiceAccountProvider
from skyflow_provider.service_account_key import ServiceAccountKeyProvider

SA = {"name": "payments-api"}
ROLE = {"vault_id": "v1", "name": "READER"}
RULE = {"name": "r1", "actions": ["READ"], "columns": ["persons.name"]}
POLICY = {"vault_id": "v1", "name": "P1", "rules": [RULE]}
RA = {"role_id": "r1", "service_account_id": "sa1"}
PA = {"policy_id": "p1", "role_ids": ["r1"]}


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = dict(base)
    for k, val in changes.items():
        if val is _DROP:
            out.pop(k, None)
        else:
            out[k] = val
    return out


_DROP = object()
LONG = "x" * 101

CASES: list[tuple[str, type, dict[str, Any], str]] = [
    # ServiceAccount
    ("sa name missing", ServiceAccountProvider, {}, "name"),
    ("sa name empty", ServiceAccountProvider, {"name": ""}, "name"),
    ("sa name too long", ServiceAccountProvider, {"name": LONG}, "name"),
    ("sa name whitespace", ServiceAccountProvider, {"name": " a "}, "name"),
    ("sa name not string", ServiceAccountProvider, {"name": 5}, "name"),
    ("sa name control chars", ServiceAccountProvider, {"name": "a\x00b"}, "name"),
    ("sa display too long", ServiceAccountProvider, with_(SA, display_name=LONG), "display_name"),
    ("sa description too long", ServiceAccountProvider, with_(SA, description="d" * 1025),
     "description"),
    ("sa auth type", ServiceAccountProvider, with_(SA, auth_type="oauth"), "auth_type"),
    ("sa auth type case", ServiceAccountProvider, with_(SA, auth_type="JWT"), "auth_type"),
    ("sa enforce ctx string", ServiceAccountProvider, with_(SA, enforce_context_id="true"),
     "enforce_context_id"),
    ("sa enforce sdt int", ServiceAccountProvider, with_(SA, enforce_signed_data_tokens=1),
     "enforce_signed_data_tokens"),
    ("sa api key + signed tokens", ServiceAccountProvider,
     with_(SA, auth_type="api_key", enforce_signed_data_tokens=True), "enforce_signed_data_tokens"),
    ("sa allowlist not object", ServiceAccountProvider, with_(SA, ip_allowlist="10.0.0.0/8"),
     "ip_allowlist"),
    ("sa allowlist unknown key", ServiceAccountProvider,
     with_(SA, ip_allowlist={"status": "INACTIVE", "cidrs": []}), "ip_allowlist"),
    ("sa allowlist status", ServiceAccountProvider,
     with_(SA, ip_allowlist={"status": "ON", "cidr_blocks": []}), "ip_allowlist.status"),
    ("sa cidr host bits", ServiceAccountProvider,
     with_(SA, ip_allowlist={"status": "ACTIVE_ALL", "cidr_blocks": ["10.0.0.1/8"]}),
     "ip_allowlist.cidr_blocks[0]"),
    ("sa cidr no prefix", ServiceAccountProvider,
     with_(SA, ip_allowlist={"status": "ACTIVE_ALL", "cidr_blocks": ["10.0.0.1"]}),
     "ip_allowlist.cidr_blocks[0]"),
    ("sa cidr garbage", ServiceAccountProvider,
     with_(SA, ip_allowlist={"status": "ACTIVE_ALL", "cidr_blocks": ["1.2.3.0/24", "x/y"]}),
     "ip_allowlist.cidr_blocks[1]"),
    ("sa cidr too many", ServiceAccountProvider,
     with_(SA, ip_allowlist={"cidr_blocks": [f"10.0.{i}.0/24" for i in range(11)]}),
     "ip_allowlist.cidr_blocks"),
    ("sa cidr duplicate", ServiceAccountProvider,
     with_(SA, ip_allowlist={"cidr_blocks": ["10.0.0.0/8", "10.0.0.0/8"]}),
     "ip_allowlist.cidr_blocks"),
    ("sa active allowlist empty", ServiceAccountProvider,
     with_(SA, ip_allowlist={"status": "ACTIVE_ALL", "cidr_blocks": []}),
     "ip_allowlist.cidr_blocks"),
    ("sa unknown input", ServiceAccountProvider, with_(SA, displayName="x"), "displayName"),
    # ApiKey
    ("apikey sa missing", ApiKeyProvider, {}, "service_account_id"),
    ("apikey sa slash", ApiKeyProvider, {"service_account_id": "a/b"}, "service_account_id"),
    ("apikey sa space", ApiKeyProvider, {"service_account_id": "a b"}, "service_account_id"),
    ("apikey sa query", ApiKeyProvider, {"service_account_id": "a?x=1"}, "service_account_id"),
    ("apikey on jwt account", ApiKeyProvider,
     {"service_account_id": "sa1", "service_account_auth_type": "jwt"}, "service_account_id"),
    ("apikey keepers not map", ApiKeyProvider, {"service_account_id": "sa1", "keepers": "x"},
     "keepers"),
    ("apikey keepers non-string", ApiKeyProvider,
     {"service_account_id": "sa1", "keepers": {"a": 1}}, "keepers"),
    # ServiceAccountKey
    ("key sa missing", ServiceAccountKeyProvider, {}, "service_account_id"),
    ("key sa dotdot", ServiceAccountKeyProvider, {"service_account_id": "../x"},
     "service_account_id"),
    ("key on api-key account", ServiceAccountKeyProvider,
     {"service_account_id": "sa1", "service_account_auth_type": "api_key"}, "service_account_id"),
    ("key auth hint bad", ServiceAccountKeyProvider,
     {"service_account_id": "sa1", "service_account_auth_type": "x"}, "service_account_auth_type"),
    # Role
    ("role vault missing", RoleProvider, with_(ROLE, vault_id=_DROP), "vault_id"),
    ("role vault hash", RoleProvider, with_(ROLE, vault_id="v#1"), "vault_id"),
    ("role name missing", RoleProvider, with_(ROLE, name=_DROP), "name"),
    ("role name spaces", RoleProvider, with_(ROLE, name="read only"), "name"),
    ("role name system", RoleProvider, with_(ROLE, name="VAULT_EDITOR"), "name"),
    ("role permissions not list", RoleProvider, with_(ROLE, permissions="vaults.read"),
     "permissions"),
    ("role permission bad", RoleProvider, with_(ROLE, permissions=["vaults read"]),
     "permissions[0]"),
    ("role permission dup", RoleProvider, with_(ROLE, permissions=["a.b", "a.b"]), "permissions"),
    ("role level lowercase", RoleProvider, with_(ROLE, levels=["vault"]), "levels[0]"),
    ("system role name", SystemRoleProvider, {"vault_id": "v1", "name": ""}, "name"),
    ("system role vault", SystemRoleProvider, {"vault_id": "v 1", "name": "VAULT_EDITOR"},
     "vault_id"),
    # Policy
    ("policy name dash", PolicyProvider, with_(POLICY, name="pii-mask"), "name"),
    ("policy name underscore", PolicyProvider, with_(POLICY, name="pii_mask"), "name"),
    ("policy vault missing", PolicyProvider, with_(POLICY, vault_id=_DROP), "vault_id"),
    ("policy rules missing", PolicyProvider, with_(POLICY, rules=_DROP), "rules"),
    ("policy rules empty", PolicyProvider, with_(POLICY, rules=[]), "rules"),
    ("policy active string", PolicyProvider, with_(POLICY, active="yes"), "active"),
    ("rule name bad", PolicyProvider, with_(POLICY, rules=[with_(RULE, name="r-1")]),
     "rules[0].name"),
    ("rule action bad", PolicyProvider, with_(POLICY, rules=[with_(RULE, actions=["SELECT"])]),
     "rules[0].actions[0]"),
    ("rule actions empty", PolicyProvider, with_(POLICY, rules=[with_(RULE, actions=[])]),
     "rules[0].actions"),
    ("rule effect bad", PolicyProvider, with_(POLICY, rules=[with_(RULE, effect="PERMIT")]),
     "rules[0].effect"),
    ("rule no target", PolicyProvider, with_(POLICY, rules=[with_(RULE, columns=_DROP)]),
     "rules[0].columns"),
    ("rule two targets", PolicyProvider, with_(POLICY, rules=[with_(RULE, table="persons")]),
     "rules[0].columns"),
    ("rule column format", PolicyProvider, with_(POLICY, rules=[with_(RULE, columns=["name"])]),
     "rules[0].columns[0]"),
    ("rule redaction bad", PolicyProvider,
     with_(POLICY, rules=[with_(RULE, redaction="HIDDEN")]), "rules[0].redaction"),
    ("rule table redaction", PolicyProvider,
     with_(POLICY, rules=[{"name": "t", "actions": ["READ"], "table": "persons",
                           "redaction": "MASKED"}]), "rules[0].redaction"),
    ("rule expression garbage", PolicyProvider,
     with_(POLICY, rules=[{"name": "e", "rule_expression": "let me read"}]),
     "rules[0].rule_expression"),
    ("rule expression + target", PolicyProvider,
     with_(POLICY, rules=[with_(RULE, rule_expression="ALLOW READ ON persons.*")]),
     "rules[0].rule_expression"),
    ("rule duplicate names", PolicyProvider, with_(POLICY, rules=[RULE, RULE]), "rules[1].name"),
    ("rule unknown field", PolicyProvider, with_(POLICY, rules=[with_(RULE, column="x.y")]),
     "rules[0]"),
    # RoleAssignment
    ("ra no role", RoleAssignmentProvider, {"service_account_id": "sa1"}, "role_id"),
    ("ra role bad", RoleAssignmentProvider, with_(RA, role_id="r/1"), "role_id"),
    ("ra role name no vault", RoleAssignmentProvider,
     {"role_name": "VAULT_EDITOR", "service_account_id": "sa1"}, "vault_id"),
    ("ra role id and name", RoleAssignmentProvider, with_(RA, role_name="VAULT_EDITOR"),
     "role_name"),
    ("ra no member", RoleAssignmentProvider, {"role_id": "r1"}, "service_account_id"),
    ("ra both members", RoleAssignmentProvider, with_(RA, member_id="u1"), "member_id"),
    ("ra member type", RoleAssignmentProvider, with_(RA, member_type="GROUP"), "member_type"),
    ("ra sa as user", RoleAssignmentProvider, with_(RA, member_type="USER"), "member_type"),
    ("ra empty condition", RoleAssignmentProvider, with_(RA, condition=""), "condition"),
    # PolicyAssignment
    ("pa policy missing", PolicyAssignmentProvider, with_(PA, policy_id=_DROP), "policy_id"),
    ("pa roles missing", PolicyAssignmentProvider, with_(PA, role_ids=_DROP), "role_ids"),
    ("pa roles empty", PolicyAssignmentProvider, with_(PA, role_ids=[]), "role_ids"),
    ("pa role bad", PolicyAssignmentProvider, with_(PA, role_ids=["r1", "r 2"]), "role_ids[1]"),
    ("pa roles not list", PolicyAssignmentProvider, with_(PA, role_ids="r1"), "role_ids"),
]


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize(("label", "cls", "props", "prop"), CASES, ids=[c[0] for c in CASES])
def test_invalid_input_names_field(label: str, cls: type, props: dict[str, Any], prop: str
                                   ) -> None:
    provider = cls()  # no client: an API call would fail loudly
    result = provider.check({}, dict(props))
    props_failed = [f.property for f in result.failures]
    assert prop in props_failed, (label, [(f.property, f.reason) for f in result.failures])
    for f in result.failures:
        # Each reason names its field, so the CLI message is actionable on its own.
        assert f.property.split("[")[0].split(".")[0] in f.reason or f.property in f.reason


VALID: list[tuple[type, dict[str, Any]]] = [
    (ServiceAccountProvider, SA),
    (ServiceAccountProvider, with_(SA, auth_type="api_key", ip_allowlist={
        "status": "ACTIVE_AUTH_ONLY", "cidr_blocks": ["203.0.113.0/24", "2001:db8::/32"]})),
    (ApiKeyProvider, {"service_account_id": "sa1", "service_account_auth_type": "api_key"}),
    (ServiceAccountKeyProvider, {"service_account_id": "sa1", "keepers": {"rotation": "1"}}),
    (RoleProvider, with_(ROLE, permissions=["vaults.read:upstream"], levels=["VAULT"])),
    (SystemRoleProvider, {"vault_id": "v1", "name": "VAULT_VIEWER"}),
    (PolicyProvider, POLICY),
    (PolicyProvider, with_(POLICY, rules=[
        {"name": "a", "rule_expression": "ALLOW READ ON persons.* WITH REDACTION = MASKED"},
        {"name": "b", "actions": ["READ"], "table": "persons", "effect": "DENY"},
        {"name": "c", "actions": ["READ", "UPDATE"], "column_groups": ["pii"],
         "redaction": "REDACTED", "row_filter": "country = 'US'"},
    ])),
    (RoleAssignmentProvider, RA),
    (RoleAssignmentProvider, {"vault_id": "v1", "role_name": "VAULT_EDITOR", "member_id": "u1",
                              "member_type": "USER", "condition": "request.context.x == 'y'"}),
    (PolicyAssignmentProvider, PA),
]


@pytest.mark.parametrize(("cls", "props"), VALID)
def test_valid_inputs_pass(cls: type, props: dict[str, Any]) -> None:
    result = cls().check({}, dict(props))
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
