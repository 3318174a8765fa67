"""PolicyProvider (resources/policy.py): lifecycle and adoption keeping rule ids.
"""

from __future__ import annotations

from typing import Any

import pytest

from skyflow_provider.resources.base import SkyflowProviderError
from skyflow_provider.resources.policy import PolicyProvider


def test_policy_lifecycle(make, fake) -> None:
    p = make(PolicyProvider)
    inputs = checked(p, {"vault_id": "v1", "name": "PiiMasked", "rules": [
        {"name": "a", "rule_expression": "ALLOW READ ON persons.* WITH REDACTION = MASKED"},
        {"name": "b", "actions": ["READ"], "columns": ["persons.ssn"], "redaction": "REDACTED"},
    ]})
    res = p.create(inputs)
    body_rules = fake.policies[res.id]["ruleParams"]
    assert body_rules[0]["ruleExpression"].startswith("ALLOW READ")
    assert body_rules[0]["tableRuleParams"]["tableName"] == "persons"
    assert body_rules[1]["columnRuleParams"] == {
        "vaultID": "v1", "effect": "ALLOW", "actions": ["READ"], "action": "READ",
        "columns": ["persons.ssn"], "redaction": "REDACTED"}
    assert res.outs["status"] == "ACTIVE" and res.outs["active"] is True
    assert res.outs["rule_ids"] == {}  # no read after the create (issue 15): read when needed

    # deactivate in place through the status endpoint, no PATCH of the body
    fake.calls.clear()
    off = p.update(res.id, res.outs, {**inputs, "active": False}).outs
    assert fake.calls == ["set_policy_status:INACTIVE"] and off["status"] == "INACTIVE"

    # rule removed: PATCH with known rule ids, dropped rule deleted
    fake.calls.clear()
    fewer = {**inputs, "active": False, "rules": inputs["rules"][:1]}
    kept = p.update(res.id, off, fewer).outs
    assert "update_policy" in fake.calls
    assert fake.policies[res.id]["ruleParams"][0]["ID"] == kept["rule_ids"]["a"]
    assert set(kept["rule_ids"]) == {"a"}

    # out-of-band status change shows up on refresh
    fake.policies[res.id]["status"] = "ACTIVE"
    assert p.read(res.id, off).inputs["active"] is True
    p.delete(res.id, off)
    assert p.read(res.id, off).id is None


def checked(p: Any, props: dict[str, Any]) -> dict[str, Any]:
    result = p.check({}, props)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return dict(result.inputs)


def test_adopt_policy_keeps_rule_ids_and_applies_status(make, fake) -> None:
    from skyflow_provider.resources.policy import PolicyProvider

    p = make(PolicyProvider)
    existing = fake.create_policy({
        "name": "Legacy", "displayName": "Legacy", "description": "hand-made",
        "resource": {"ID": "v1", "type": "VAULT"}, "activated": False,
        "ruleParams": [{"name": "keep"}, {"name": "drop"}]})["ID"]
    kept_rule = fake.policies[existing]["rules"][0]["ID"]
    adopted = p.create(checked(p, {"vault_id": "v1", "name": "Legacy", "adopt_id": existing,
                                   "rules": [{"name": "keep", "actions": ["READ"],
                                              "table": "persons"}]}))
    assert adopted.id == existing and len(fake.policies) == 1
    assert adopted.outs["rule_ids"] == {"keep": kept_rule}
    assert fake.policies[existing]["status"] == "ACTIVE" and adopted.outs["status"] == "ACTIVE"
    assert [r["name"] for r in fake.policies[existing]["rules"]] == ["keep"]
    with pytest.raises(SkyflowProviderError, match="vault v1"):
        p.create(checked(p, {"vault_id": "v2", "name": "Legacy", "adopt_id": existing,
                             "rules": [{"name": "keep", "actions": ["READ"], "table": "t"}]}))

