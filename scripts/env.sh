# shellcheck shell=bash
# Sourced (bash) by the project's scripts and the Makefile: puts the Pulumi CLI + Python language
# host (scripts/build-pulumi.sh; builds it if needed, < 1 s when cached) and the repo's virtualenv
# on PATH, and turns off everything in the CLI that would try the internet.
#
#   source scripts/env.sh        # exports PULUMI_BIN_DIR, PATH, PULUMI_SKIP_UPDATE_CHECK,
#                                # PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION
#
# It does not change the caller's shell options; it returns non-zero if the toolchain is missing.

_skyflow_env_main() {
  local root out bin
  if [ -n "${BASH_SOURCE[0]:-}" ]; then
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || return 1
  else
    root="$(pwd)" # non-bash shells: source it from the repo root
  fi
  if [ ! -f "$root/scripts/build-pulumi.sh" ]; then
    echo "env.sh: cannot find the repo root (got $root)" >&2
    return 1
  fi
  out="$(bash "$root/scripts/build-pulumi.sh")" || return 1
  bin="${out##*$'\n'}" # the last stdout line
  if [ -z "$bin" ] || [ ! -x "$bin/pulumi" ]; then
    echo "env.sh: scripts/build-pulumi.sh did not produce a pulumi binary" >&2
    return 1
  fi
  export PULUMI_BIN_DIR="$bin"
  export SKYFLOW_PULUMI_ROOT="$root"
  case ":$PATH:" in
    *":$bin:$root/venv/bin:"*) ;;
    *) export PATH="$bin:$root/venv/bin:$PATH" ;;
  esac
}

_skyflow_env_main || return 1
unset -f _skyflow_env_main

export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
