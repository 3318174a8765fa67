#!/usr/bin/env bash
# main: apply the program. Non-interactive, no prompt; secrets stay masked in the output.
# shellcheck source=ci-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/ci-common.sh"

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
pulumi up --stack "$PULUMI_STACK" --yes --skip-preview --non-interactive --diff --color never \
  2>&1 | tee "$out"
echo
echo "Stack outputs (secrets masked):"
pulumi stack output --stack "$PULUMI_STACK" 2>&1 | tee -a "$out"
ci_summary "pulumi up ($PULUMI_STACK)" "$out"
