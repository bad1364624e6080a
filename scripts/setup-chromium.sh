#!/usr/bin/env bash
# Installs Debian's chromium for the headless-browser test of `certloop status --serve` (packages/cli), when
# /usr/bin/chromium is missing. Needs root (as on the project's machines and in CI) and Debian's package lists.
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium fonts-dejavu-core
/usr/bin/chromium --version
