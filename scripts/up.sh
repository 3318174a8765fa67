#!/usr/bin/env bash
# The `make up` job: provision the reference stack (Pulumi.yaml + __main__.py) with the local file
# backend and the passphrase secrets provider, then print the stack outputs with secrets masked.
#
# Skyflow endpoint: if SKYFLOW_MANAGEMENT_URL (or stack config skyflow:managementUrl) is set, that
# real account is used and nothing is started. Otherwise the embedded Skyflow emulator is started
# for the run on a fixed loopback port with its data in .state/emulator, so a second `make up`
# finds the same account and reports no changes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

STACK="${STACK:-dev}"
STATE_DIR="$PWD/.state"
mkdir -p "$STATE_DIR/backend"
chmod 700 "$STATE_DIR"

export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$STATE_DIR/backend}"
export PULUMI_HOME="${PULUMI_HOME:-$STATE_DIR/pulumi-home}"
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  # A random per-checkout passphrase, never committed. Pulumi.<stack>.yaml's encryptionsalt belongs
  # to it, so a new passphrase (fresh .state) drops the old salt, which it could not decrypt anyway.
  if [ ! -s "$STATE_DIR/passphrase" ]; then
    (umask 077; "$PWD/venv/bin/python" -c 'import secrets; print(secrets.token_urlsafe(32))' > "$STATE_DIR/passphrase")
    [ -f "Pulumi.$STACK.yaml" ] && sed -i '/^encryptionsalt:/d' "Pulumi.$STACK.yaml"
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$STATE_DIR/passphrase"
fi

pulumi stack select "$STACK" --create --secrets-provider passphrase --non-interactive >/dev/null

configured_url="${SKYFLOW_MANAGEMENT_URL:-$(pulumi config get skyflow:managementUrl 2>/dev/null || true)}"
EMULATOR_PID=""
stop_emulator() { [ -n "$EMULATOR_PID" ] && kill "$EMULATOR_PID" 2>/dev/null && wait "$EMULATOR_PID" 2>/dev/null; true; }
trap stop_emulator EXIT

if [ -z "$configured_url" ]; then
  data_dir="$STATE_DIR/emulator"
  port="${SKYFLOW_EMULATOR_PORT:-18443}"
  mkdir -p "$data_dir"
  ready="$data_dir/ready.log"
  : > "$ready"
  python -m skyflow_emulator --host 127.0.0.1 --port "$port" --data-dir "$data_dir" > "$ready" 2> "$data_dir/emulator.log" &
  EMULATOR_PID=$!
  for _ in $(seq 1 150); do
    grep -q "skyflow-emulator listening on" "$ready" && break
    kill -0 "$EMULATOR_PID" 2>/dev/null || { echo "up: the emulator failed to start; see $data_dir/emulator.log" >&2; tail -20 "$data_dir/emulator.log" >&2; exit 1; }
    sleep 0.1
  done
  grep -q "skyflow-emulator listening on" "$ready" || { echo "up: the emulator did not become ready" >&2; exit 1; }
  echo "up: $(cat "$ready") (data in .state/emulator)"
  eval "$(python - "$data_dir" <<'PY'
import json, shlex, sys
d = sys.argv[1]
acct = json.load(open(f"{d}/account.json"))
env = {
    "SKYFLOW_MANAGEMENT_URL": acct["managementURL"],
    "SKYFLOW_ACCOUNT_ID": acct["accountID"],
    "SKYFLOW_CREDENTIALS_FILE": f"{d}/admin-credentials.json",
    "SKYFLOW_VAULT_ID": acct["vaults"][0]["ID"],
}
if acct.get("caBundle"):
    env["SKYFLOW_CA_BUNDLE"] = acct["caBundle"]
for k, v in env.items():
    print(f"export {k}={shlex.quote(v)}")
PY
)"
else
  echo "up: using the Skyflow Management API at $configured_url"
fi

pulumi up --yes --non-interactive --color never --stack "$STACK" "$@"
echo
echo "Stack outputs (secrets masked; 'pulumi stack output --show-secrets' reveals them):"
pulumi stack output --stack "$STACK"
