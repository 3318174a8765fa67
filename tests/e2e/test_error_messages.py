"""Errors Skyflow returns during `up` reach the user as one clear line, not a Python traceback."""

from __future__ import annotations

import pytest

from tests.helpers.tracebacks import assert_no_traceback, split_pulumi_cancellations

pytestmark = pytest.mark.e2e


def test_api_refusal_is_one_clean_line_without_traceback(project_factory):
    proj = project_factory("apikey_on_jwt")
    result = proj.up(check=False)
    assert result.returncode != 0
    out = result.output
    assert_no_traceback(result)
    assert 'File "' not in split_pulumi_cancellations(out)[0], out
    # The message says what failed and quotes Skyflow's rule.
    error_lines = [line for line in out.splitlines() if "API key" in line or "api key" in line]
    assert error_lines, out
    proj.destroy()


def test_full_tracebacks_come_back_for_provider_debugging(project_factory):
    proj = project_factory("apikey_on_jwt", env={"SKYFLOW_PROVIDER_TRACEBACKS": "1"})
    result = proj.up(check=False)
    assert result.returncode != 0
    assert "Traceback (most recent call last)" in result.output
    proj.destroy()


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"SKYFLOW_CREDENTIALS_FILE": "", "SKYFLOW_CREDENTIALS": '{"clientID": "x"'},
         "SKYFLOW_CREDENTIALS"),
        ({"SKYFLOW_ACCOUNT_ID": ""}, "skyflow:accountId"),
        ({"SKYFLOW_MANAGEMENT_URL": "http://skyflow.example.com"}, "https"),
    ],
    ids=["truncated-credentials-json", "missing-account-id", "plain-http-url"],
)
def test_bad_provider_settings_fail_at_preview_without_api_calls(
        emulator, project_factory, env, needle):
    from tests.e2e.conftest import api_requests

    proj = project_factory("one_account", env=env)
    proj.config_set("name", "settings-check")
    before = len(api_requests(emulator))
    result = proj.preview(check=False)
    assert result.returncode != 0
    out = result.output
    assert needle in out, out
    assert_no_traceback(result)
    assert api_requests(emulator, before) == []
