#!/usr/bin/env bash
# Installs Debian's SoftHSM2 (the PKCS#11 token @certloop/pkcs11's tests run against) and OpenSC (for pkcs11-tool,
# which the tests use to read key attributes from outside certloop), when they are missing. Needs root (as on the
# project's machines and in CI) and Debian's package lists. The tests initialise their own token in a temporary
# SOFTHSM2_CONF; this script only installs the module and the tools.
set -euo pipefail
module=""
for candidate in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
  /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so; do
  if [[ -e "$candidate" ]]; then module="$candidate"; break; fi
done
if [[ -n "$module" ]] && command -v softhsm2-util >/dev/null && command -v pkcs11-tool >/dev/null; then
  echo "softhsm2: $(softhsm2-util --version) at $module; pkcs11-tool present"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends softhsm2 opensc
echo "softhsm2: $(softhsm2-util --version)"
command -v pkcs11-tool
