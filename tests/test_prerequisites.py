"""A missing tool, package or file skips a test on a developer's machine and fails it in CI,
naming the install step either way (tests/helpers/prerequisites.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import prerequisites as pre


@pytest.mark.parametrize("ci", [False, True], ids=["developer machine", "CI=true"])
def test_missing_prerequisites_skip_or_fail_with_the_fix(ci: bool, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pre, "CI", ci)
    outcome = pytest.fail.Exception if ci else pytest.skip.Exception
    checks = [
        (lambda: pre.require_tool("no-such-tool-xyz", "apt-get install xyz"),
         "`no-such-tool-xyz` (not on PATH) is missing: apt-get install xyz"),
        (lambda: pre.require_module("no_such_module_xyz", "pip install xyz"),
         "Python package `no_such_module_xyz`"),
        (lambda: pre.require_file(tmp_path / "absent", "run setup"),
         f"{tmp_path / 'absent'} is missing: run setup"),
    ]
    for check, message in checks:
        with pytest.raises(outcome) as info:
            check()
        assert message in str(info.value)
        assert ("[CI=true" in str(info.value)) is ci


def test_present_prerequisites_are_returned(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    tool = tmp_path / "some-tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert pre.require_tool("some-tool", "-") == str(tool)
    assert pre.require_module("json", "-").dumps({}) == "{}"
    assert pre.require_file(tmp_path, "-") == tmp_path


def test_ci_is_read_from_the_environment() -> None:
    import os

    assert pre.CI is (os.environ.get("CI", "").lower() in ("1", "true", "yes"))
