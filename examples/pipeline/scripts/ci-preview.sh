#!/usr/bin/env bash
# Pull requests: show what `pulumi up` would change, without changing anything.
# Secrets in the output are masked by Pulumi ([secret]); the exit code fails the check on errors.
# shellcheck source=ci-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/ci-common.sh"

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
pulumi preview --stack "$PULUMI_STACK" --non-interactive --diff --color never 2>&1 | tee "$out"
ci_summary "pulumi preview ($PULUMI_STACK)" "$out"
