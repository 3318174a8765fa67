"""Lost responses on the native provider: the emulator commits a create and drops its response;
the plugin's create (the same provider classes and idempotency layer as the dynamic form)
adopts the object instead of making a duplicate. One object type per up (``--target``), in
dependency order, over examples/yaml; the dynamic form's twin is test_faults.py's
``test_lost_responses_for_every_resource_type_are_adopted`` (its fixture is reused here).
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.e2e.conftest import list_service_accounts
from tests.e2e.test_faults import CREATE_OPS, drop_first_write  # noqa: F401 - fixture
from tests.e2e.test_native_yaml import yaml_project
from tests.helpers.secrets_scan import assert_no_secret_hits

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ORDER = [
    ("ServiceAccount", "payments"), ("ServiceAccount", "reporting"), ("Role", "readerRole"),
    ("Policy", "readerPolicy"), ("PolicyAssignment", "readerPolicyRoles"),
    ("RoleAssignment", "paymentsEditor"), ("RoleAssignment", "reportingReader"),
]


def test_native_lost_responses_for_every_type_are_adopted(emulator, project_factory,
                                                          drop_first_write):  # noqa: F811
    proj = yaml_project(project_factory, emulator, name="lost", prefix="lost")
    adopted: dict[str, str] = {}
    for type_, name in ORDER:
        urn = f"urn:pulumi:dev::skyflow-yaml::skyflow:index:{type_}::{name}"
        dropped = drop_first_write()
        result = proj.up(target=[urn])
        assert "Traceback" not in result.output, result.output
        assert dropped, f"{name}: no write was dropped"
        adopted[name] = CREATE_OPS[dropped["operation"]]
    emulator.clear_faults()
    assert set(adopted.values()) == {"ServiceAccount", "Role", "Policy", "PolicyAssignment",
                                     "RoleAssignment"}, adopted

    names = Counter(sa["name"] for sa in list_service_accounts(emulator))
    assert names["lost-payments-api"] == 1 and names["lost-reporting"] == 1
    outs = proj.outputs(show_secrets=True)
    creds = json.loads(outs["paymentsCredentials"])
    assert emulator.token(creds)  # the fresh key of an adopted account works
    proj.up(expect_no_changes=True)
    proj.destroy()
    assert_no_secret_hits(
        {"payments key": creds["privateKey"], "reporting key": outs["reportingApiKey"]},
        min_secrets=2, roots=[proj.backend_dir], texts=proj.captured_texts())
