#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Google Dataproc initialization action: installs gprofiler on every node and
# starts it in the background, uploading continuously. Settings come from the
# cluster's metadata (gcloud dataproc clusters create ... --metadata k=v,...):
#
#   gprofiler-token     upload token (required; handed to gprofiler in its
#                       environment, never on its command line)
#   gprofiler-service   service name (required)
#   gprofiler-package   gs:// or https:// URL of the gprofiler .deb (Debian
#                       images) or of the gprofiler binary; empty: use the
#                       gprofiler already on PATH
#   gprofiler-args      extra gprofiler arguments, separated by spaces
#   enable-stdout       "1" (default): gprofiler's output goes to this
#                       script's log, /var/log/dataproc-initialization-script-N.log;
#                       "0": discarded
set -euo pipefail

readonly METADATA_URL=http://metadata.google.internal/computeMetadata/v1/instance/attributes

# metadata NAME [DEFAULT]: the attribute's value, or DEFAULT when it is not set
metadata() {
  local value
  if value=$(curl -fsS -H 'Metadata-Flavor: Google' "$METADATA_URL/$1" 2>/dev/null); then
    printf '%s' "$value"
  else
    printf '%s' "${2-}"
  fi
}

# install_package URL: a .deb goes through apt (which pulls its dependencies),
# anything else is taken to be the gprofiler binary
install_package() {
  local url=$1 dir file
  dir=$(mktemp -d)
  file="$dir/$(basename -- "$url")"
  case "$url" in
    gs://*) gsutil -q cp "$url" "$file" ;;
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

token=$(metadata gprofiler-token)
service=$(metadata gprofiler-service)
package=$(metadata gprofiler-package)
extra=$(metadata gprofiler-args)
enable_stdout=$(metadata enable-stdout 1)

if [[ -z "$token" || -z "$service" ]]; then
  echo "gprofiler: set the gprofiler-token and gprofiler-service cluster metadata" >&2
  exit 1
fi
if [[ -n "$package" ]]; then
  install_package "$package"
fi
bin=$(command -v gprofiler) || {
  echo "gprofiler: not installed (set the gprofiler-package cluster metadata)" >&2
  exit 1
}

read -r -a extra_args <<<"$extra"
args=(-cu "--service-name=$service" "${extra_args[@]}")
if [[ "$enable_stdout" == "1" ]]; then
  GPROFILER_TOKEN="$token" setsid "$bin" "${args[@]}" &
else
  GPROFILER_TOKEN="$token" setsid "$bin" "${args[@]}" >/dev/null 2>&1 &
fi
pid=$!

# an argument or startup error ends it at once; 0 is "already running"
sleep 2
if ! kill -0 "$pid" 2>/dev/null; then
  rc=0
  wait "$pid" || rc=$?
  if ((rc != 0)); then
    echo "gprofiler: exited with status $rc at startup" >&2
    exit 1
  fi
fi
echo "gprofiler started (pid $pid)."
