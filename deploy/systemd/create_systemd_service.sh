#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Writes gprofiler.service (into the current folder) for a gprofiler binary
# installed without the Debian package, and the root-only environment file it
# reads the token from, like gProfiler's create_systemd_service.sh:
#
#   read -rs GPROFILER_TOKEN && export GPROFILER_TOKEN GPROFILER_SERVICE=my-service
#   sudo --preserve-env=GPROFILER_TOKEN,GPROFILER_SERVICE deploy/systemd/create_systemd_service.sh
#   sudo systemctl enable --now "$(pwd)/gprofiler.service"
#
# Inputs (environment):
#   GPROFILER_TOKEN      upload token (required; written only to the env file)
#   GPROFILER_SERVICE    service name (required; GPROFILER_SERVICE_NAME works too)
#   GPROFILER_BIN        the binary (default: gprofiler on PATH)
#   GPROFILER_ARGS       extra gprofiler arguments (optional)
#   GPROFILER_ENV_FILE   where to write the env file (default /etc/gprofiler/gprofiler.env)
set -euo pipefail

die() {
  echo "create_systemd_service.sh: $*" >&2
  exit 1
}

# values go into a systemd EnvironmentFile between double quotes
check_value() {
  local name=$1 value=$2
  if [[ -z "$value" ]]; then
    die "missing $name"
  fi
  if [[ "$value" == *[\"\\\$\`]* || "$value" =~ [[:cntrl:]] ]]; then
    die "$name must not contain quotes, backslashes, \$, backticks or control characters"
  fi
}

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
template="$here/gprofiler.service.in"
unit_name=gprofiler.service
token=${GPROFILER_TOKEN:-}
service=${GPROFILER_SERVICE:-${GPROFILER_SERVICE_NAME:-}}
args=${GPROFILER_ARGS:-}
env_file=${GPROFILER_ENV_FILE:-/etc/gprofiler/gprofiler.env}
bin=${GPROFILER_BIN:-$(command -v gprofiler || true)}

check_value GPROFILER_TOKEN "$token"
check_value GPROFILER_SERVICE "$service"
if [[ -n "$args" ]]; then
  check_value GPROFILER_ARGS "$args"
fi
[[ -f "$template" ]] || die "$template not found (run this script from a gprofiler-c checkout)"
[[ -n "$bin" ]] || die "gprofiler is not on PATH; set GPROFILER_BIN to the installed binary"
[[ "$bin" == /* ]] || bin="$(pwd)/$bin"
[[ -x "$bin" ]] || die "$bin is not an executable file"
[[ "$env_file" == /* ]] || die "GPROFILER_ENV_FILE must be an absolute path"
[[ "$bin$env_file" != *[@\|\&]* ]] || die "paths must not contain @, | or &"
if [[ -e "$unit_name" ]]; then
  die "$unit_name already exists here: remove it and re-run (and disable the service if it was enabled from it)"
fi

# The env file is created root-only before the token is written to it.
mkdir -p -- "$(dirname -- "$env_file")"
tmp=$(umask 077 && mktemp -- "$env_file.XXXXXX")
trap 'rm -f -- "$tmp"' EXIT
{
  echo "# written by create_systemd_service.sh; read by $unit_name"
  printf 'GPROFILER_TOKEN="%s"\n' "$token"
  printf 'GPROFILER_SERVICE_NAME="%s"\n' "$service"
  printf 'GPROFILER_ARGS="%s"\n' "$args"
} >"$tmp"
chmod 0600 -- "$tmp"
mv -f -- "$tmp" "$env_file"
trap - EXIT

sed -e "s|@GPROFILER_BIN@|$bin|g" -e "s|@GPROFILER_ENV_FILE@|$env_file|g" \
  "$template" >"$unit_name"

echo "created $(pwd)/$unit_name and $env_file (mode 0600)"
echo "install and start it with:"
echo "  systemctl enable --now $(pwd)/$unit_name"
