#!/usr/bin/env bash
# Checks dashboards/*.json against Grafana's published dashboard schema
# (@grafana/schema of Grafana 11.6, 12.4 and 13.2; check_schema.mjs). The npm
# packages, pinned by package-lock.json, are installed into a temporary
# directory (npm's cache makes a second run quick), removed afterwards.
# Needs node and npm (scripts/test installs them); prints one line per
# Grafana release; exits non-zero when a dashboard does not fit a schema.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dashboards=$(cd "$here/../../dashboards" && pwd)
for tool in node npm; do
  command -v "$tool" >/dev/null || {
    echo "tests/dashboards/run.sh: $tool is missing: apt-get install nodejs npm" >&2
    exit 1
  }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/ac-dashboard-schema.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$here/check_schema.mjs" "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
node "$work/check_schema.mjs" "$dashboards"
