"""examples/go end to end: a Go program on the generated SDK (sdk/go) and the native plugin, run
as an Automation API inline program (no Go language host). up, no-op up, refresh, destroy."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import PROGRAMS, list_service_accounts, run_automation
from tests.helpers.secrets_scan import assert_no_secret_hits

pytestmark = pytest.mark.e2e


def test_go_program_through_the_automation_api(emulator, project_factory, go_example):
    proj = project_factory(PROGRAMS / "go_inline", name="go", stack="dev")
    assert run_automation(proj, go_example, "up").get("create") == 3  # stack, account, assignment
    assert proj.outputs()["credentials"] == "[secret]"
    outs = proj.outputs(show_secrets=True)
    creds = json.loads(outs["credentials"])
    assert creds["clientID"] == outs["client_id"] and emulator.token(creds)
    assert set(run_automation(proj, go_example, "up")) == {"same"}
    run_automation(proj, go_example, "refresh")
    run_automation(proj, go_example, "destroy")
    assert "go-payments-api" not in {sa["name"] for sa in list_service_accounts(emulator)}
    assert_no_secret_hits({"key": creds["privateKey"],
                           "admin key": emulator.admin_credentials["privateKey"]},
                          min_secrets=2, roots=[proj.backend_dir], texts=proj.captured_texts())
