"""Runs at the most verbose logging a user can ask for, and every place their logs land.

``pulumi up --debug -v=9 --logtostderr --logflow``: the engine logs at level 9 to stderr and,
with ``--logflow``, hands ``-v=9 --logtostderr`` to every plugin it starts (language hosts,
providers). Level 9 is the highest below the one (11) at which Pulumi itself says it prints
credentials. :func:`verbose_env` additionally points ``TMPDIR`` (glog files, temp files of the
CLI and plugins) into the run's work dir and turns the provider's own Python loggers to DEBUG,
into files there (tests/helpers/debug_site/sitecustomize.py), so one scan of the work dir covers
the engine's, the plugins' and the provider's logs, ``PULUMI_HOME/logs`` and the backend.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.pulumi_cli import PulumiProject
from tests.helpers.secrets_scan import assert_no_secret_hits

#: The most verbose CLI run there is short of -v=11 (where Pulumi prints credentials by design).
VERBOSE_FLAGS = ("--debug", "-v=9", "--logtostderr", "--logflow")
LOG_VERBOSITY = "9"

DEBUG_SITE = Path(__file__).resolve().parent / "debug_site"


def verbose_env(work_dir: Path) -> dict[str, str]:
    """Environment for a verbose run whose temp files and provider DEBUG logs stay in work_dir."""
    tmp, logs = work_dir / "tmp", work_dir / "provider-debug"
    tmp.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    pythonpath = os.pathsep.join(p for p in (str(DEBUG_SITE), os.environ.get("PYTHONPATH"))
                                 if p)
    return {"TMPDIR": str(tmp), "PYTHONPATH": pythonpath,
            "SKYFLOW_TEST_DEBUG_LOG_DIR": str(logs), "LOG_VERBOSITY": LOG_VERBOSITY}


def provider_debug_log(work_dir: Path) -> str:
    """Everything the provider logged at DEBUG during the run (all processes)."""
    return "".join(p.read_text() for p in sorted((work_dir / "provider-debug").glob("*.log")))


def check_verbose_and_scan(proj: PulumiProject, emulator: EmulatorProcess, work: Path,
                           secrets: dict[str, str], *, min_secrets: int) -> dict[str, Any]:
    """Assert the runs of ``proj`` were verbose everywhere and no secret is anywhere; figures.

    ``work`` is the dir given to :func:`verbose_env`; every secret in ``secrets`` is searched
    for in all of ``proj``'s files and output, ``work`` and the emulator's request log.
    """
    stderr = "".join(r.stderr for r in proj.captured)
    # The CLI ran with every flag (the Automation API examples set them from LOG_VERBOSITY)...
    flags = re.findall(r'"msg":"CLI Metadata".*?"Flags":"([^"]*)"', stderr)
    assert [f for f in flags if {"--debug", "--logflow", "--logtostderr", "--verbose"}
            <= set(f.split())], flags
    # ...and the engine logged at level 9 to stderr, its provider calls included.
    assert '"v":9' in stderr and re.search(r"Provider\[[^\]]+\]\.Create\(", stderr), \
        stderr[-3000:]
    # The provider logged its API calls at DEBUG, from the plugin processes.
    debug_log = provider_debug_log(work)
    calls = re.findall(r"skyflow_provider\.api\.base DEBUG (POST|GET|DELETE|PUT|PATCH) ", debug_log)
    assert "POST" in calls and "DELETE" in calls, debug_log[-3000:]
    report = assert_no_secret_hits(
        secrets, min_secrets=min_secrets,
        roots=[proj.work_dir, work, emulator.data_dir / "requests.jsonl"],
        texts=proj.captured_texts())
    figures = {"stderr_lines": len(stderr.splitlines()), "stderr_bytes": len(stderr),
               "provider_debug_lines": len(debug_log.splitlines()),
               "provider_api_calls_logged": len(calls), "secrets_scanned": report.secrets,
               "files_scanned": report.files, "bytes_scanned": report.bytes, "secret_hits": 0}
    return {"flags": " ".join(VERBOSE_FLAGS), **figures}
