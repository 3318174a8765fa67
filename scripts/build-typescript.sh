#!/usr/bin/env bash
# Build the generated Node.js SDK (sdk/nodejs -> sdk/nodejs/bin, against @pulumi/pulumi from the
# npm registry) and the TypeScript example (examples/typescript -> bin/index.js), which installs
# the SDK as npm packs it (package.json's main/types/files). Skipped when nothing changed since the
# last build (stamp on the sources' hash). Needs node and npm.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command -v npm >/dev/null 2>&1 || { echo "build-typescript: npm not found" >&2; exit 1; }
hash="$(cd "$ROOT" && cat sdk/nodejs/*.ts sdk/nodejs/*/*.ts sdk/nodejs/*/*/*.ts sdk/nodejs/package.json \
  examples/typescript/index.ts examples/typescript/package.json | sha256sum | cut -c1-16)"
STAMP="$ROOT/examples/typescript/bin/.built-$hash"
[[ -f "$STAMP" ]] && exit 0
cd "$ROOT/sdk/nodejs"
npm install --no-audit --no-fund --loglevel=error >&2
npm run build >&2  # tsc, and package.json into bin/ (the SDK reads its version there)
cd "$ROOT/examples/typescript"
# --install-links copies the SDK in (a symlink would load a second @pulumi/pulumi from
# sdk/nodejs/node_modules, and two copies of the runtime cannot share one engine connection).
rm -rf node_modules/@skyflow-pulumi
npm install --install-links --no-audit --no-fund --loglevel=error >&2
npx tsc >&2
touch "$STAMP"
