#!/usr/bin/env bash
# Generate sdk/nodejs, sdk/go and sdk/python from sdk/schema.json with tools/sdkgen (Pulumi's own code
# generators, from the Go module cache the CLI build filled). `make generate` runs it after
# tools/generate.py; tests/native/test_sdk_fresh.py runs it into a temporary dir to find a stale sdk/.
#
#   tools/sdkgen.sh [sdk dir (default: sdk)] [schema (default: sdk/schema.json)]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/sdk}"
SCHEMA="${2:-$ROOT/sdk/schema.json}"
key="$(cat "$ROOT"/tools/sdkgen/go.mod "$ROOT"/tools/sdkgen/go.sum "$ROOT"/tools/sdkgen/*.go | sha256sum | cut -c1-12)"
BIN="${XDG_CACHE_HOME:-$HOME/.cache}/skyflow-pulumi/sdkgen-$key"
if [[ ! -x "$BIN" ]]; then
  echo "sdkgen: building tools/sdkgen (pkg/v3 codegen)" >&2
  mkdir -p "$(dirname "$BIN")"
  (cd "$ROOT/tools/sdkgen" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local \
    go build -trimpath -o "$BIN.tmp.$$" .)
  mv "$BIN.tmp.$$" "$BIN"  # a per-process temp name: concurrent builds never share one file
fi
mkdir -p "$OUT"
"$BIN" "$SCHEMA" "$OUT"
