"""Issue 9 end to end: the reference stack at team scale.

State lives in an S3 bucket through Pulumi's own ``s3://`` backend and secrets are encrypted by
a KMS key through the ``awskms://`` secrets provider; both are served on loopback by ``moto`` in
server mode (a well-known AWS emulator from PyPI), so the CLI's real gocloud/AWS SDK v2 clients
are exercised, not a stub. Everything is asserted on what is really in the bucket and in KMS:

* up / refresh / destroy work; no object in the bucket holds a plaintext secret; the stack's
  secrets provider is the KMS key and secret values in state are ciphertext; a second project
  reads the credentials through ``StackReference`` and gets them as a secret.
* two ``up`` on one stack at once: the backend's lock refuses the second, with its message;
  two stacks (dev, staging) against one Skyflow account at once: no interference.
* the dev/staging/prod config files of ``examples/multi-env`` preview cleanly, each with its
  own names, services and credentials source.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3  # with moto[server], from the dev extra (scripts/setup.sh installs it)
import pytest
import yaml

from tests.e2e.conftest import PROGRAMS, REPO_ROOT, list_service_accounts, provider_env
from tests.helpers.emulator_proc import EmulatorProcess
from tests.helpers.moto_proc import free_port, moto_server
from tests.helpers.pulumi_cli import PulumiProject, Result
from tests.helpers.secrets_scan import assert_no_secret_hits, scan

pytestmark = pytest.mark.e2e

REGION = "us-east-1"
PROJECT = "skyflow-identities"
TYPE = "pulumi-python:dynamic/skyflow:"
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's marker for a secret value in state
LOCK_PREFIX = ".pulumi/locks/"
LOCKED_MESSAGE = "the stack is currently locked by 1 lock(s)"
MULTI_ENV = REPO_ROOT / "examples" / "multi-env"


# ---- local AWS: moto in server mode ------------------------------------------------------------


@dataclass
class Moto:
    """A ``moto`` server (S3 + KMS + everything else) on a loopback port."""

    url: str

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def moto(tmp_path: Path) -> Iterator[Moto]:
    with moto_server(tmp_path / "moto.log") as url:
        yield Moto(url)


@dataclass
class TeamBackend:
    """One state bucket and KMS keys in moto, and the URLs/env a pipeline would use for them."""

    moto: Moto
    work_dir: Path
    bucket: str = "skyflow-pulumi-state"
    keys: dict[str, str] = field(default_factory=dict)  # alias -> key ARN

    def create(self) -> TeamBackend:
        self.moto.client("s3").create_bucket(Bucket=self.bucket)
        return self

    def kms_key(self, alias: str) -> str:
        """Create (once) a KMS key behind ``alias/<alias>``; returns its ``awskms://`` URL."""
        if alias not in self.keys:
            kms = self.moto.client("kms")
            meta = kms.create_key(Description=f"Pulumi secrets: {alias}")["KeyMetadata"]
            kms.create_alias(AliasName=f"alias/{alias}", TargetKeyId=meta["KeyId"])
            self.keys[alias] = meta["Arn"]
        return f"awskms://alias/{alias}?region={REGION}"

    @property
    def backend_url(self) -> str:
        # use_path_style: moto (like MinIO) serves buckets as paths, not as virtual hosts.
        # response_checksum_validation: moto returns no CRC checksums; without this the AWS
        # SDK v2 logs a warning on every read.
        return (f"s3://{self.bucket}?endpoint={self.moto.url}&use_path_style=true"
                f"&region={REGION}&response_checksum_validation=when_required")

    def env(self) -> dict[str, str]:
        """Dummy credentials, KMS endpoint override, and no shared AWS config from the host."""
        return {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "",
            "AWS_PROFILE": "",
            "AWS_REGION": REGION,
            # The KMS endpoint comes from the environment (AWS SDK v2 service-specific endpoint),
            # so the URL recorded in Pulumi.<stack>.yaml and in state is the production form.
            "AWS_ENDPOINT_URL_KMS": self.moto.url,
            "AWS_CONFIG_FILE": str(self.work_dir / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.work_dir / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def objects(self) -> dict[str, str]:
        """Every object in the bucket, fully read (key -> text)."""
        s3 = self.moto.client("s3")
        out: dict[str, str] = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for item in page.get("Contents", []):
                body = s3.get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read()
                out[item["Key"]] = body.decode("utf-8", errors="replace")
        return out

    def listing(self) -> dict[str, tuple[str, str]]:
        """key -> (ETag, LastModified): changes on any write, even of identical content."""
        s3 = self.moto.client("s3")
        return {o["Key"]: (o["ETag"], o["LastModified"].isoformat())
                for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
                for o in page.get("Contents", [])}

    def locks(self) -> list[str]:
        s3 = self.moto.client("s3")
        listed = s3.list_objects_v2(Bucket=self.bucket, Prefix=LOCK_PREFIX)
        return [o["Key"] for o in listed.get("Contents", [])]


@pytest.fixture
def team(moto: Moto, tmp_path: Path) -> TeamBackend:
    return TeamBackend(moto, tmp_path).create()


# ---- projects on the team backend -------------------------------------------------------------


@dataclass
class TeamProject(PulumiProject):
    """A PulumiProject on the s3:// backend with a KMS secrets provider and no passphrase."""

    backend_url: str = ""
    secrets_provider: str = ""

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env.pop("PULUMI_CONFIG_PASSPHRASE", None)  # no passphrase anywhere: KMS or nothing
        env["PULUMI_BACKEND_URL"] = self.backend_url
        return env

    def stack_init(self, name: str) -> Result:
        result = self.run("stack", "init", name, "--secrets-provider", self.secrets_provider,
                          stack=False)
        self.stack = name
        return result

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start ``pulumi <args>`` without waiting (for concurrent runs); see :meth:`finish`."""
        argv = [*args, "--stack", str(self.stack), "--non-interactive", "--color", "never"]
        return subprocess.Popen([str(self.pulumi), *argv], cwd=self.dir, env=self.environment(),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def finish(self, proc: subprocess.Popen[str]) -> Result:
        stdout, stderr = proc.communicate(timeout=self.timeout)
        result = Result(tuple(str(a) for a in proc.args[1:]), stdout, stderr,  # type: ignore[index]
                        proc.returncode)
        self.captured.append(result)
        return result


def reference_src(tmp_path: Path) -> Path:
    """The root program alone (Pulumi.yaml + __main__.py), without the repo's venv or state."""
    src = tmp_path / "reference-src"
    if not src.exists():
        src.mkdir()
        for name in ("Pulumi.yaml", "__main__.py"):
            shutil.copy(REPO_ROOT / name, src / name)
    return src


def committed_dev_config() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text())["config"])


def set_config_objects(proj: PulumiProject, values: dict[str, Any]) -> None:
    """Write structured config (lists/maps) into the stack's config file, as a user would."""
    path = proj.dir / f"Pulumi.{proj.stack}.yaml"
    doc = yaml.safe_load(path.read_text()) or {}
    doc.setdefault("config", {}).update(values)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def team_project(team: TeamBackend, emu: EmulatorProcess, program: Path, work: Path, *,
                 key: str = "skyflow-pulumi", env: dict[str, str] | None = None,
                 with_credentials_file: bool = True) -> TeamProject:
    return TeamProject(
        program, work, backend_url=team.backend_url, secrets_provider=team.kms_key(key),
        env={**provider_env(emu, with_credentials_file=with_credentials_file), **team.env(),
             **(env or {})})


def reference_stack(team: TeamBackend, emu: EmulatorProcess, tmp_path: Path, stack: str,
                    **kwargs: Any) -> TeamProject:
    """The reference program as stack ``stack`` with the committed dev config, prefix = stack."""
    proj = team_project(team, emu, reference_src(tmp_path), tmp_path / stack, **kwargs)
    proj.stack_init(stack)
    config = committed_dev_config()
    config[f"{PROJECT}:namePrefix"] = stack
    # These tests are about state backends and concurrent stacks: the identities use the
    # emulator's vault (SKYFLOW_VAULT_ID). The vault the committed config declares is
    # test_reference_stack's and test_vault's subject.
    config.pop(f"{PROJECT}:vault", None)
    set_config_objects(proj, config)
    return proj


def digest(text: str) -> str:
    """Compare secrets by digest so an assertion failure never prints one."""
    return hashlib.sha256(text.encode()).hexdigest()


def sa_names(emu: EmulatorProcess) -> dict[str, str]:
    """Service account name -> ID, straight from the emulator."""
    return {sa["name"]: sa["ID"] for sa in list_service_accounts(emu)}


# ---- 1. S3 backend + KMS secrets: lifecycle, no plaintext, StackReference ---------------------


def test_s3_backend_kms_secrets_lifecycle_and_stack_reference(
        emulator: EmulatorProcess, team: TeamBackend, tmp_path: Path) -> None:
    admin = emulator.admin_credentials
    # Admin credentials as KMS-encrypted secret config (no credentials file in the env).
    dev = reference_stack(team, emulator, tmp_path, "dev", with_credentials_file=False)
    dev.config_set("skyflow:credentials", json.dumps(admin), secret=True)
    snapshots: dict[str, str] = {}

    def snapshot(stage: str) -> dict[str, str]:
        objects = team.objects()
        snapshots.update({f"{stage}: s3://{team.bucket}/{k}": v for k, v in objects.items()})
        return objects

    dev.up()
    names = sa_names(emulator)
    assert {"dev-payments-api", "dev-analytics-etl", "dev-legacy-batch"} <= set(names)
    masked = dev.outputs()
    for key in ("payments-api_credentials", "analytics-etl_credentials", "legacy-batch_api_key"):
        assert masked[key] == "[secret]", key
    outs = dev.outputs(show_secrets=True)
    secrets = {
        "admin private key": admin["privateKey"],
        "payments-api private key": json.loads(outs["payments-api_credentials"])["privateKey"],
        "analytics-etl private key": json.loads(outs["analytics-etl_credentials"])["privateKey"],
        "legacy-batch api key": outs["legacy-batch_api_key"],
    }

    # --- state is in the bucket (nothing in a local backend dir), under the stack's own key.
    objects = snapshot("after up")
    checkpoint_key = f".pulumi/stacks/{PROJECT}/dev.json"
    assert checkpoint_key in objects, sorted(objects)
    assert dev.backend_files() == []
    assert team.locks() == []  # released after the update

    # --- the secrets provider is the KMS key, as recorded by the stack itself.
    deployment = dev.export()["deployment"]
    provider = deployment["secrets_providers"]
    assert provider["type"] == "cloud"
    assert provider["state"]["url"] == f"awskms://alias/skyflow-pulumi?region={REGION}"
    stack_file = yaml.safe_load((dev.dir / "Pulumi.dev.yaml").read_text())
    assert stack_file["secretsprovider"] == provider["state"]["url"]
    assert "encryptionsalt" not in stack_file  # not the passphrase provider
    assert stack_file["config"]["skyflow:credentials"]["secure"].startswith("v1:")
    # The data key in state is wrapped by exactly that KMS key: KMS itself can unwrap it.
    wrapped = base64.b64decode(provider["state"]["encryptedkey"])
    unwrapped = team.moto.client("kms").decrypt(CiphertextBlob=wrapped)
    assert unwrapped["KeyId"] == team.keys["skyflow-pulumi"]
    assert len(unwrapped["Plaintext"]) == 32  # the AES-256 data key that encrypts the secrets

    # --- every secret output in state is ciphertext, and so is the checkpoint in the bucket.
    by_name = {r["urn"].rsplit("::", 1)[-1]: r for r in deployment["resources"]}
    for res, prop in (("payments-api", "credentials"), ("payments-api", "private_key"),
                      ("analytics-etl", "credentials"), ("legacy-batch", "api_key")):
        value = by_name[res]["outputs"][prop]
        assert value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270", (res, prop)
        assert "ciphertext" in value and "plaintext" not in value, (res, prop)
    checkpoint = json.loads(objects[checkpoint_key])["checkpoint"]
    assert checkpoint["latest"]["secrets_providers"]["type"] == "cloud"
    assert objects[checkpoint_key].count(SECRET_SIG) >= 4  # the object itself holds ciphertext

    # --- without KMS the secrets cannot be read: every run unwraps the data key with KMS.
    # (moto does not enforce a disabled key on Decrypt, so KMS is made unreachable instead.)
    saved_env = dev.env
    dev.env = {**saved_env, "AWS_ENDPOINT_URL_KMS": f"http://127.0.0.1:{free_port()}"}
    try:
        denied = dev.run("stack", "output", "--show-secrets", "--json", check=False,
                         capture_stdout=False)
    finally:
        dev.env = saved_env
    assert denied.returncode != 0
    assert "KMS: Decrypt" in denied.stderr, denied.stderr

    # --- a second project reads the credentials through StackReference, as a secret.
    consumer = team_project(team, emulator, PROGRAMS / "team_consumer", tmp_path / "consumer",
                            key="skyflow-pulumi-app")
    consumer.stack_init("app-dev")
    consumer.config_set("identitiesStack", f"organization/{PROJECT}/dev")
    consumer.up()
    got = consumer.outputs()
    assert got["credentials"] == "[secret]"
    assert got["credentials_client_id"] == "[secret]"
    assert got["client_id"] == outs["payments-api_client_id"]
    assert got["arrived_as_secret"] is True
    got_plain = consumer.outputs(show_secrets=True)
    assert digest(got_plain["credentials"]) == digest(outs["payments-api_credentials"])
    assert got_plain["credentials_client_id"] == outs["payments-api_client_id"]
    consumer_state = consumer.export()["deployment"]
    assert consumer_state["secrets_providers"]["state"]["url"] == (
        f"awskms://alias/skyflow-pulumi-app?region={REGION}")
    stack_outputs = next(r for r in consumer_state["resources"]
                         if r["type"] == "pulumi:pulumi:Stack")["outputs"]
    assert SECRET_SIG in stack_outputs["credentials"]
    snapshot("after consumer up")

    # --- refresh reads everything back through KMS and finds no drift.
    dev.refresh()
    dev.preview(expect_no_changes=True)
    snapshot("after refresh")

    # --- destroy both; the emulator is back to the admin only.
    consumer.destroy()
    dev.destroy()
    assert not [n for n in sa_names(emulator) if n.startswith("dev-")]
    snapshot("after destroy")
    consumer.stack_rm()
    dev.stack_rm()
    assert f".pulumi/stacks/{PROJECT}/dev.json" not in team.objects()

    # Positive control: the scanner does find the generated secrets where they are in plain text.
    found = {h.secret_label for h in scan(secrets, texts={"control": json.dumps(outs)})}
    assert found == set(secrets) - {"admin private key"}, found
    texts = {**snapshots, **dev.captured_texts(), **consumer.captured_texts()}
    assert_no_secret_hits(secrets, min_secrets=4,
                          roots=[dev.dir, consumer.dir, dev.work_dir / "pulumi-home"],
                          texts=texts)
    assert len([k for k in snapshots if k.startswith("after up")]) >= 2  # something was scanned


# ---- 2. concurrency ----------------------------------------------------------------------------


def test_same_stack_second_up_is_refused_by_the_lock(emulator: EmulatorProcess, team: TeamBackend,
        tmp_path: Path) -> None:
    proj = reference_stack(team, emulator, tmp_path, "dev")
    emulator.set_faults(latency_ms=150)  # every API call slower, so the first update lasts
    first = proj.start("up", "--yes", "--skip-preview")
    try:
        deadline = time.monotonic() + 120
        while not team.locks():
            assert first.poll() is None, "the first up ended before taking its lock"
            assert time.monotonic() < deadline, "the first up never took a lock"
            time.sleep(0.05)
        lock_key = team.locks()[0]
        assert lock_key.startswith(f"{LOCK_PREFIX}organization/{PROJECT}/dev/")
        second = proj.run("up", "--yes", "--skip-preview", check=False)
        first_result = proj.finish(first)
    finally:
        if first.poll() is None:  # only when an assertion above failed
            first.kill()
            first.wait()
        emulator.clear_faults()

    assert first_result.returncode == 0, first_result.output
    assert second.returncode != 0
    message = second.output
    assert LOCKED_MESSAGE in message, message
    assert "Either wait for the other process(es) to end or delete the lock file with " \
           "`pulumi cancel`." in message, message
    assert f"(pid {first.pid})" in message, message  # names the holder
    assert f"s3://{team.bucket}" in message and lock_key in message, message
    assert team.locks() == []  # the first released its lock; the second never wrote one
    assert {"dev-payments-api", "dev-analytics-etl", "dev-legacy-batch"} <= set(
        sa_names(emulator))

    proj.up(expect_no_changes=True)  # nothing half-done by the refused run

    # A lock left by a killed pipeline (runner lost): refused until `pulumi cancel` removes it.
    stale = f"{LOCK_PREFIX}organization/{PROJECT}/dev/0000-killed-runner.json"
    team.moto.client("s3").put_object(Bucket=team.bucket, Key=stale, Body=json.dumps(
        {"pid": 4242, "username": "ci", "hostname": "lost-runner",
         "timestamp": "2026-01-01T00:00:00Z"}).encode())
    blocked = proj.up(check=False)
    assert blocked.returncode != 0 and LOCKED_MESSAGE in blocked.output, blocked.output
    assert "ci@lost-runner (pid 4242)" in blocked.output, blocked.output
    proj.run("cancel", "--yes")
    assert team.locks() == []
    proj.up(expect_no_changes=True)
    proj.destroy()
    proj.stack_rm()


def test_two_stacks_one_account_at_once(emulator: EmulatorProcess, team: TeamBackend,
        tmp_path: Path) -> None:
    dev = reference_stack(team, emulator, tmp_path, "dev")
    staging = reference_stack(team, emulator, tmp_path, "staging")
    emulator.set_faults(latency_ms=20)  # interleave the two runs' API calls
    procs = [(p, p.start("up", "--yes", "--skip-preview")) for p in (dev, staging)]
    try:
        results = [p.finish(proc) for p, proc in procs]
    finally:
        for _, proc in procs:
            if proc.poll() is None:  # only when finishing one of them failed
                proc.kill()
                proc.wait()
        emulator.clear_faults()
    for r in results:
        assert r.returncode == 0, r.output

    services = ("payments-api", "analytics-etl", "legacy-batch")
    names = sa_names(emulator)
    for stack in ("dev", "staging"):
        assert {f"{stack}-{s}" for s in services} <= set(names), sorted(names)
    # Each stack holds only its own objects, and the outputs point at them.
    for proj in (dev, staging):
        out = proj.outputs()
        assert out["name_prefix"] == proj.stack
        for s in services:
            assert out[f"{s}_client_id"] == names[f"{proj.stack}-{s}"]
        types = Counter(r["type"].removeprefix(TYPE) for r in proj.resources()
                        if r["type"].startswith(TYPE))
        assert types == Counter({"ServiceAccount": 3, "RoleAssignment": 3, "Role": 1,
                                 "Policy": 1, "PolicyAssignment": 1}), types
    dev_ids = {n: i for n, i in names.items() if n.startswith("dev-")}

    # Destroying staging leaves dev untouched, in Skyflow and in dev's own view.
    staging.destroy()
    after = sa_names(emulator)
    assert not [n for n in after if n.startswith("staging-")]
    assert {n: i for n, i in after.items() if n.startswith("dev-")} == dev_ids
    dev.refresh()
    dev.preview(expect_no_changes=True)
    dev.destroy()
    for proj in (dev, staging):
        proj.stack_rm()
    assert team.locks() == []


# ---- 3. many environments from config only -----------------------------------------------------


def preview_steps(result: Result) -> list[dict[str, Any]]:
    return list(json.loads(result.stdout).get("steps") or [])


@pytest.mark.parametrize("env_name", ["dev", "staging", "prod"])
def test_multi_env_configs_preview_and_apply(emulator: EmulatorProcess, team: TeamBackend,
        tmp_path: Path, env_name: str) -> None:
    """Each examples/multi-env config file, as is, against the emulator: plan, then apply."""
    config_file = MULTI_ENV / f"Pulumi.{env_name}.yaml"
    config = yaml.safe_load(config_file.read_text())["config"]
    admin_text = json.dumps(emulator.admin_credentials)
    # How each environment's admin credentials arrive (see examples/multi-env/README.md).
    extra_env: dict[str, str] = {}
    if env_name == "staging":  # the CI secret store exports SKYFLOW_CREDENTIALS
        extra_env["SKYFLOW_CREDENTIALS"] = admin_text
    elif env_name == "prod":  # a secrets-manager step writes a file for this run only
        fetched = tmp_path / "fetched" / "skyflow-admin.json"
        fetched.parent.mkdir()
        fetched.write_text(admin_text)
        fetched.chmod(0o600)
        extra_env["SKYFLOW_CREDENTIALS_FILE"] = str(fetched)
    proj = team_project(team, emulator, reference_src(tmp_path), tmp_path / env_name,
                        key=f"skyflow-pulumi-{env_name}", env=extra_env,
                        with_credentials_file=False)
    shutil.copy(config_file, proj.dir / config_file.name)
    proj.stack_init(env_name)
    if env_name == "dev":  # secret config, encrypted by this environment's KMS key
        proj.config_set("skyflow:credentials", admin_text, secret=True)
    # Point this environment at the emulator instead of Skyflow (the only test-only change).
    proj.config_set("skyflow:managementUrl", emulator.url)
    proj.config_set("skyflow:accountId", emulator.account_id)
    proj.config_set("skyflow:vaultId", emulator.vault_id)

    before = team.listing()
    result = proj.preview(json=True)
    assert team.listing() == before  # preview writes no object and takes no lock
    steps = preview_steps(result)
    assert steps and all(s["op"] == "create" for s in steps), [s["op"] for s in steps]
    accounts = {s["urn"].rsplit("::", 1)[-1]: s["newState"]["inputs"] for s in steps
                if s["newState"]["type"] == TYPE + "ServiceAccount"}
    services = config[f"{PROJECT}:services"]
    assert set(accounts) == {s["name"] for s in services}
    prefix = config[f"{PROJECT}:namePrefix"]
    assert prefix == env_name
    for svc in services:
        inputs = accounts[svc["name"]]
        assert inputs["name"] == f"{prefix}-{svc['name']}"
        assert bool(inputs.get("enforce_context_id")) == bool(svc.get("enforce_context_id"))
        if "ip_allowlist" in svc:
            assert inputs["ip_allowlist"]["cidr_blocks"] == svc["ip_allowlist"]["cidr_blocks"]
    roles = [s["newState"]["inputs"]["name"] for s in steps
             if s["newState"]["type"] == TYPE + "Role"]
    assert roles == [f"{prefix}-analytics-reader"]
    stack_file = yaml.safe_load((proj.dir / f"Pulumi.{env_name}.yaml").read_text())
    assert stack_file["secretsprovider"] == (
        f"awskms://alias/skyflow-pulumi-{env_name}?region={REGION}")

    # Per-environment differences really are config-only.
    expected = {"dev": {"payments-api", "analytics-etl", "legacy-batch", "qa-seeder"},
                "staging": {"payments-api", "analytics-etl", "legacy-batch"},
                "prod": {"payments-api", "analytics-etl"}}[env_name]
    assert set(accounts) == expected

    # Preview makes no Skyflow call (the provider defers credential errors to first use), so
    # an up proves this environment's credentials source really works; then clean up.
    proj.up()
    live = {n for n in sa_names(emulator) if n.startswith(f"{prefix}-")}
    assert live == {f"{prefix}-{s}" for s in expected}
    proj.destroy()
    assert not [n for n in sa_names(emulator) if n.startswith(f"{prefix}-")]
    assert_no_secret_hits({"admin private key": emulator.admin_credentials["privateKey"]},
                          min_secrets=1, roots=[proj.dir],
                          texts={**proj.captured_texts(), **team.objects()})
    proj.stack_rm()
