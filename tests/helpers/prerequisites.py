"""What a test needs from the machine: a skip on a developer's machine, a failure in CI.

A test that skips because a tool, package or file is missing proves nothing, and a CI run that
lost its Node.js or Go would otherwise stay green with dozens of tests silently skipped. So under
``CI=true`` (``.ci/run``, GitHub Actions and most CI services set it) a missing prerequisite fails
the test; outside CI it skips. Either way the message names what is missing and the install step
that fixes it.

    pulumi = require_tool("pulumi", "run `make setup` then `source scripts/env.sh`")
    sdk = require_module("skyflow.service_account", "install the sdk extra: ...")
"""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# The install steps, named once.
SETUP = "run `make setup` (scripts/setup.sh)"
INSTALL_PULUMI = ("run `make setup` (scripts/build-pulumi.sh builds the CLI) and "
                  "`source scripts/env.sh`, or set PULUMI_BIN_DIR to a directory holding `pulumi`")
INSTALL_NODE = ("install Node.js >= 20 with npm (Debian: `apt-get install nodejs npm`; or "
                "https://nodejs.org)")
INSTALL_GO = "install Go >= 1.26.6 (https://go.dev/dl; scripts/build-pulumi.sh needs it too)"
INSTALL_SDK = ("install the official Skyflow SDK: `venv/bin/pip install -e '.[sdk]'` "
               "(make setup installs the sdk extra)")


def missing(what: str, fix: str) -> NoReturn:
    """Skip (or, under CI=true, fail) the calling test: ``what`` is missing, ``fix`` installs it."""
    message = f"{what} is missing: {fix}"
    if CI:
        pytest.fail(f"{message} [CI=true: a missing prerequisite fails the build, never skips]",
                    pytrace=False)
    pytest.skip(message, allow_module_level=True)


def require_tool(name: str, fix: str) -> str:
    """The path of executable ``name`` on PATH."""
    return shutil.which(name) or missing(f"`{name}` (not on PATH)", fix)


def require_module(name: str, fix: str) -> ModuleType:
    """Import ``name`` (also at module level, like ``pytest.importorskip``)."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing(f"Python package `{name}` ({exc})", fix)


def require_file(path: Path, fix: str) -> Path:
    if not path.exists():
        missing(str(path), fix)
    return path
