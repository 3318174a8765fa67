# shellcheck shell=bash
# `source examples/emulator-env.sh` (from the repo root, bash): point this shell at the emulator of
# `make emulator` and at the state of `make up`, so the examples and `make up` share both.
#
#   shell 1:  make emulator                      # leaves the emulator running (.state/emulator)
#   shell 2:  source examples/emulator-env.sh    # the same variables scripts/up.sh exports
#             make up                            # the reference stack, against that emulator
#             cd examples/consumer-stack && pulumi stack select dev --create && pulumi up
#
# Exports SKYFLOW_MANAGEMENT_URL, SKYFLOW_ACCOUNT_ID, SKYFLOW_CREDENTIALS_FILE (the emulator's
# admin credentials), SKYFLOW_CA_BUNDLE, SKYFLOW_VAULT_ID, PULUMI_BACKEND_URL and
# PULUMI_CONFIG_PASSPHRASE_FILE (.state/passphrase, created by the first `make up`). Nothing
# secret is printed.

_skyflow_examples_env() {
  local root data
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || return 1
  data="$root/.state/emulator"
  if [ ! -s "$data/account.json" ]; then
    echo "emulator-env: no $data/account.json; run \`make emulator\` in another shell first" >&2
    return 1
  fi
  # shellcheck source=/dev/null
  source "$root/scripts/env.sh" || return 1
  eval "$("$root/venv/bin/python" - "$data" <<'PY'
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
)" || return 1
  mkdir -p "$root/.state/backend"
  export PULUMI_BACKEND_URL="file://$root/.state/backend"
  export PULUMI_HOME="$root/.state/pulumi-home"
  if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    if [ ! -s "$root/.state/passphrase" ]; then
      # Exactly what scripts/up.sh does on a fresh checkout: a random per-checkout passphrase,
      # and the reference stack's old encryptionsalt (made for another passphrase) dropped.
      (umask 077; "$root/venv/bin/python" -c 'import secrets; print(secrets.token_urlsafe(32))' \
        > "$root/.state/passphrase")
      [ -f "$root/Pulumi.dev.yaml" ] && sed -i '/^encryptionsalt:/d' "$root/Pulumi.dev.yaml"
    fi
    export PULUMI_CONFIG_PASSPHRASE_FILE="$root/.state/passphrase"
  fi
  echo "emulator-env: SKYFLOW_* -> $SKYFLOW_MANAGEMENT_URL, Pulumi state -> $PULUMI_BACKEND_URL"
}
_skyflow_examples_env
unset -f _skyflow_examples_env
