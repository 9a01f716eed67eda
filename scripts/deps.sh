#!/usr/bin/env bash
# Installs the Debian packages pg_unlearn needs, only those that are missing.
set -euo pipefail

packages=(postgresql-15 postgresql-server-dev-15 postgresql-contrib libeigen3-dev libpqxx-dev libssl-dev
          libgtest-dev cmake g++ make pkg-config clang libclang-rt-14-dev python3-numpy python3-sklearn libipc-run-perl
          chromium)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
    exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
