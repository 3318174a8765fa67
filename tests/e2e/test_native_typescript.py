"""examples/typescript end to end: the reference stack in TypeScript on the generated Node.js SDK
and the native plugin, run through the Automation API's inline program (no Node.js language
host). up, no-op up, refresh, destroy; credentials are secret outputs; 0 plaintext at rest."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import PROGRAMS, list_service_accounts, run_automation
from tests.helpers.secrets_scan import assert_no_secret_hits

pytestmark = pytest.mark.e2e


def test_typescript_reference_stack_through_the_automation_api(emulator, project_factory,
                                                               typescript_example):
    proj = project_factory(PROGRAMS / "typescript_inline", name="ts", stack="dev")

    def node(action: str) -> dict[str, int]:
        return run_automation(proj, typescript_example, action, env={"NAME_PREFIX": "ts"})

    created = node("up")
    # stack, 3 accounts, 3 role assignments, role, policy, policy assignment
    assert created.get("create") == 10, created
    masked = proj.outputs()
    assert masked["payments_api_credentials"] == "[secret]"
    assert masked["legacy_batch_api_key"] == "[secret]"
    outs = proj.outputs(show_secrets=True)
    creds = json.loads(outs["payments_api_credentials"])
    assert creds["clientID"] == outs["payments_api_client_id"] and emulator.token(creds)
    names = {sa["name"] for sa in list_service_accounts(emulator)}
    assert {"ts-payments-api", "ts-analytics-etl", "ts-legacy-batch"} <= names
    assert "__provider" not in json.dumps(proj.export())

    assert set(node("up")) == {"same"}
    node("refresh")
    assert set(node("up")) == {"same"}
    node("destroy")
    assert not {"ts-payments-api", "ts-analytics-etl"} & {
        sa["name"] for sa in list_service_accounts(emulator)}

    assert_no_secret_hits(
        {"payments key": creds["privateKey"], "batch key": outs["legacy_batch_api_key"],
         "analytics key": json.loads(outs["analytics_etl_credentials"])["privateKey"]},
        min_secrets=3, roots=[proj.backend_dir], texts=proj.captured_texts())
