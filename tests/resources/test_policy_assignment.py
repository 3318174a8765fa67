"""PolicyAssignmentProvider (resources/policy_assignment.py): role set updated in place; unknown
ids at preview check clean.
"""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from skyflow_provider.resources.policy_assignment import PolicyAssignmentProvider


def checked(p, props):
    result = p.check({}, props)
    assert result.failures == []
    return result.inputs


def test_policy_assignment_updates_role_set_in_place(make, fake) -> None:
    pa = make(PolicyAssignmentProvider)
    res = pa.create(checked(pa, {"policy_id": "p1", "role_ids": ["r1", "r2"]}))
    assert res.id == "p1"
    fake.calls.clear()
    out = pa.update("p1", res.outs, checked(pa, {"policy_id": "p1", "role_ids": ["r2", "r3"]}))
    assert fake.calls == ["assign_policy:r3", "unassign_policy:r1"]
    assert out.outs["role_ids"] == ["r2", "r3"]
    fake.role_policies["r2"].discard("p1")  # detached out of band
    assert pa.read("p1", out.outs).inputs["role_ids"] == ["r3"]
    pa.delete("p1", out.outs)
    assert pa.read("p1", out.outs).id is None


def state(provider: Any, inputs: dict[str, Any], **outputs: Any) -> dict[str, Any]:
    """Old outputs as the engine passes them to diff: checked inputs + outputs + __provider."""
    checked = provider.check({}, dict(inputs)).inputs
    return {**checked, **outputs, "__provider": "OLDPICKLE"}


@pytest.mark.parametrize("unknown", [UNKNOWN, Unknown()], ids=["sentinel-string", "Unknown"])
def test_preview_with_unknown_ids_checks_clean(unknown) -> None:
    """A PolicyAssignment whose policy and role ids are not known yet passes check (preview)."""
    p = PolicyAssignmentProvider()
    result = p.check({}, {"policy_id": unknown, "role_ids": [unknown], "__provider": "x"})
    assert result.failures == []
    result = p.check({}, {"policy_id": "p1", "role_ids": unknown})
    assert result.failures == []
    olds = state(p, {"policy_id": "p1", "role_ids": ["a"]})
    assert p.diff("p1", olds, {"policy_id": "p1", "role_ids": [unknown]}).changes is True

