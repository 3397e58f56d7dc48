#!/usr/bin/env bash
# Incremental addon build for development, which also refreshes the addon's build stamp (scripts/build-stamp.js).
# Serialised with flock so that several builds at once do not clash.
set -uo pipefail
cd "$(dirname "$0")/.."
exec flock /tmp/mod-addon-build.lock bash -c '
  [ -f build/Makefile ] || npx node-gyp configure >/dev/null 2>&1
  out=$(node scripts/build-addon.js --force --incremental 2>&1); rc=$?
  printf "%s\n" "$out" | grep -vE "^gyp info|^make: (Entering|Leaving)|^  (CXX|SOLINK|COPY)" 
  exit $rc'
