#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# AWS EMR bootstrap action: installs gprofiler on every node and starts it in
# the background, uploading continuously. Its arguments are gprofiler's (at
# least --token=<TOKEN> and --service-name=<SERVICE>), plus, optionally,
#
#   --package=URL   s3:// or https:// URL of the gprofiler binary built for
#                   the nodes' distribution, or of the .deb on Debian-based
#                   nodes; without it the gprofiler already on PATH runs
#
# aws emr create-cluster ... --bootstrap-actions \
#   Path=s3://<BUCKET>/gprofiler_action.sh,Args=[--package=s3://<BUCKET>/gprofiler,--token=<TOKEN>,--service-name=<SERVICE>]
#
# The token is handed to gprofiler in its environment (GPROFILER_TOKEN), so
# it does not show on the long-running process's command line.
set -euo pipefail

# bootstrap actions run as the hadoop user
if ((EUID != 0)); then
  exec sudo -- "$0" "$@"
fi

# install_package URL: a .deb goes through apt, anything else is the binary
install_package() {
  local url=$1 dir file
  dir=$(mktemp -d)
  file="$dir/$(basename -- "$url")"
  case "$url" in
    s3://*) aws s3 cp --only-show-errors "$url" "$file" ;;
    *) curl -fsSL --retry 3 -o "$file" "$url" ;;
  esac
  if [[ "$file" == *.deb ]]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$file"
  else
    install -m 0755 "$file" /usr/local/bin/gprofiler
  fi
  rm -rf -- "$dir"
}

package=""
token=""
args=()
while (($#)); do
  case "$1" in
    --package=*) package=${1#--package=} ;;
    --package) package=${2:?--package needs a value}; shift ;;
    --token=*) token=${1#--token=} ;;
    --token) token=${2:?--token needs a value}; shift ;;
    *) args+=("$1") ;;
  esac
  shift
done

if [[ -z "$token" ]]; then
  echo "gprofiler_action.sh: pass --token=<TOKEN> (and --service-name=<SERVICE>)" >&2
  exit 1
fi
if [[ -n "$package" ]]; then
  install_package "$package"
fi
bin=$(command -v gprofiler) || {
  echo "gprofiler_action.sh: gprofiler is not installed (pass --package=URL)" >&2
  exit 1
}

GPROFILER_TOKEN="$token" setsid "$bin" -cu "${args[@]}" >/dev/null 2>&1 &
pid=$!

# an argument or startup error ends it at once; 0 is "already running"
sleep 2
if ! kill -0 "$pid" 2>/dev/null; then
  rc=0
  wait "$pid" || rc=$?
  if ((rc != 0)); then
    echo "gprofiler_action.sh: gprofiler exited with status $rc at startup" >&2
    exit 1
  fi
fi
echo "gprofiler started (pid $pid)."
