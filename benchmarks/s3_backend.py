"""An S3-compatible state backend for the bench: a ``moto`` server on loopback, as the
team-scale tests use (tests/e2e/test_team_scale.py), with the passphrase secrets provider.

Why: the file backend is not the only one whose per-step checkpoint write can be the limit; a
team's backend is an object store, where every checkpoint is one PUT of the whole state.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

REGION = "us-east-1"
BUCKET = "skyflow-bench-state"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def moto_backend(work: Path) -> Iterator[dict[str, str]]:
    """Start moto, create the bucket; yield the env that points Pulumi at it."""
    import boto3

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (work / "moto.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(url + "/moto-api/", timeout=2)
                break
            except requests.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto did not start") from None
                time.sleep(0.2)
        boto3.client("s3", endpoint_url=url, region_name=REGION, aws_access_key_id="testing",
                     aws_secret_access_key="testing").create_bucket(Bucket=BUCKET)
        yield {
            "PULUMI_BACKEND_URL": (f"s3://{BUCKET}?endpoint={url}&use_path_style=true"
                                   f"&region={REGION}&response_checksum_validation="
                                   "when_required"),
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_REGION": REGION,
            "AWS_CONFIG_FILE": str(work / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(work / "no-aws-credentials"),
        }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
