#!/usr/bin/env bash
# serve-from-stack.sh: a deploy/pipeline step that starts the token-vending backend with a
# service's credentials and role ids read from the provisioning stack's outputs.
#
# The credentials go from `pulumi stack output --show-secrets` straight into the vendor's
# environment (SKYFLOW_CREDENTIALS): never echoed, never written to a file. `exec` hands the
# process over, so the service manager's SIGTERM reaches the vendor (clean shutdown).
#
# Environment (defaults fit examples/scoped-tokens):
#   PRODUCER_STACK      the provisioning stack (default organization/skyflow-scoped-tokens/dev)
#   CREDENTIALS_OUTPUT  its secret output holding credentials.json (default credentials)
#   ROLE_OUTPUTS        NAME=OUTPUT pairs: the page asks for NAME, the role id is read from
#                       OUTPUT (default "pipeline=pipeline_role_id")
#   AUTH_JWKS AUTH_ISSUER AUTH_AUDIENCE [CTX_CLAIM]   how your app's sessions are verified
#   HOST (127.0.0.1) PORT (8080) ALLOW_ORIGINS ("origin origin") RATE_LIMIT (60/min)
#   SKYFLOW_CA_BUNDLE   a private CA (the emulator's), passed through
#   PULUMI              the pulumi binary (default: pulumi on PATH)
set -euo pipefail

PULUMI=${PULUMI:-pulumi}
STACK=${PRODUCER_STACK:-organization/skyflow-scoped-tokens/dev}
CREDENTIALS_OUTPUT=${CREDENTIALS_OUTPUT:-credentials}
ROLE_OUTPUTS=${ROLE_OUTPUTS:-pipeline=pipeline_role_id}
: "${AUTH_JWKS:?set AUTH_JWKS (file or https URL of the JWKS of your session issuer)}"
: "${AUTH_ISSUER:?set AUTH_ISSUER}"
: "${AUTH_AUDIENCE:?set AUTH_AUDIENCE}"

SKYFLOW_CREDENTIALS="$("$PULUMI" stack output --stack "$STACK" --show-secrets "$CREDENTIALS_OUTPUT")"
export SKYFLOW_CREDENTIALS

args=(--host "${HOST:-127.0.0.1}" --port "${PORT:-8080}"
      --auth-jwks "$AUTH_JWKS" --auth-issuer "$AUTH_ISSUER" --auth-audience "$AUTH_AUDIENCE"
      --ctx-claim "${CTX_CLAIM:-sub}" --rate-limit "${RATE_LIMIT:-60/min}")
for pair in $ROLE_OUTPUTS; do
  name=${pair%%=*}
  output=${pair#*=}
  role_id="$("$PULUMI" stack output --stack "$STACK" "$output")"
  args+=(--role "$name=$role_id")
done
for origin in ${ALLOW_ORIGINS:-}; do
  args+=(--allow-origin "$origin")
done

exec "${SKYFLOW_TOKEN:-skyflow-token}" serve "${args[@]}"
