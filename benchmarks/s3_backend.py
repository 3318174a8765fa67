"""An S3-compatible state backend for the bench: a ``moto`` server on loopback, as the
team-scale tests use (tests/e2e/test_team_scale.py), with the passphrase secrets provider.

Why: the file backend is not the only one whose per-step checkpoint write can be the limit; a
team's backend is an object store, where every checkpoint is one PUT of the whole state.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from tests.helpers.moto_proc import moto_server

REGION = "us-east-1"
BUCKET = "skyflow-bench-state"


@contextlib.contextmanager
def moto_backend(work: Path) -> Iterator[dict[str, str]]:
    """Start moto, create the bucket; yield the env that points Pulumi at it."""
    import boto3

    with moto_server(work / "moto.log") as url:
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
