# shellcheck shell=bash
# Sourced by ci-preview.sh and ci-up.sh. Checks what the workflow must provide, registers the
# credentials' lines as log masks on GitHub Actions, and selects (or creates) the stack.
# Never prints a secret value, and never runs with `set -x`.
set -euo pipefail
set +x

ci_fail() { echo "ci: $*" >&2; exit 2; }

for var in PULUMI_STACK PULUMI_BACKEND_URL SKYFLOW_ACCOUNT_ID; do
  [ -n "${!var:-}" ] || ci_fail "$var is not set (see examples/pipeline/README.md)"
done
if [ "${PULUMI_SECRETS_PROVIDER:-passphrase}" = passphrase ] \
   && [ -z "${PULUMI_CONFIG_PASSPHRASE:-}${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  ci_fail "PULUMI_CONFIG_PASSPHRASE is empty: add the secret (pull requests from forks get no secrets)"
fi
if [ -n "${SKYFLOW_OIDC_TOKEN_SOURCE:-}" ]; then
  [ -n "${SKYFLOW_OIDC_SERVICE_ACCOUNT_ID:-}" ] || ci_fail "SKYFLOW_OIDC_SERVICE_ACCOUNT_ID is" \
    "empty: set the repository variable to the bootstrap stack's output (examples/pipeline/README.md)"
  echo "ci: keyless: the job's OIDC token ($SKYFLOW_OIDC_TOKEN_SOURCE) is exchanged at Skyflow's" \
       "STS for service account $SKYFLOW_OIDC_SERVICE_ACCOUNT_ID"
elif [ -z "${SKYFLOW_CREDENTIALS:-}${SKYFLOW_CREDENTIALS_FILE:-}${SKYFLOW_API_KEY:-}${SKYFLOW_BEARER_TOKEN:-}" ]; then
  echo "ci: no SKYFLOW_CREDENTIALS in the environment; the stack config must hold" \
       "skyflow:credentials (pulumi config set --secret skyflow:credentials < credentials.json)"
fi

# GitHub masks a secret only where its whole value appears; credentials.json is multi-line JSON,
# so register each line of the private key as a mask too (the runner hides these lines).
if [ "${GITHUB_ACTIONS:-}" = true ] && [ -n "${SKYFLOW_CREDENTIALS:-}" ]; then
  python3 - <<'PY'
import json, os
try:
    key = json.loads(os.environ["SKYFLOW_CREDENTIALS"]).get("privateKey") or ""
except ValueError:
    key = ""
for line in key.splitlines():
    line = line.strip()
    if len(line) >= 8 and not line.startswith("-----"):
        print(f"::add-mask::{line}")
PY
fi

export PULUMI_SKIP_UPDATE_CHECK=true
cd "${PULUMI_PROGRAM_DIR:-.}"
pulumi version
pulumi stack select "$PULUMI_STACK" --create \
  --secrets-provider "${PULUMI_SECRETS_PROVIDER:-passphrase}" --non-interactive

# Append a command's output to the job summary (GitHub sets GITHUB_STEP_SUMMARY), if any.
ci_summary() {
  local title="$1" file="$2"
  [ -n "${GITHUB_STEP_SUMMARY:-}" ] || return 0
  { echo "### $title"; echo '```'; tail -n 60 "$file"; echo '```'; } >> "$GITHUB_STEP_SUMMARY"
}
