#!/usr/bin/env bash
# Makes this machine able to run TCP Lab and its tests, installing only what is missing:
# Debian packages (apt-get) and npm packages (npm ci). Safe to run again; fast when all is there.
# `npm run demo` and `npm test` call it first, so both work on a fresh Debian 12 machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# What the virtual lab and the experiments need on this machine (the hosts are namespaces of
# it), and Debian's Chromium for the end-to-end tests. ncat, netcat-traditional and busybox are
# the other netcat flavors, which the flavor tests put in a host's place of nc (Debian keeps
# OpenBSD's as nc: its alternative has the highest priority).
PACKAGES=(openssh-server openssh-client iproute2 iptables netcat-openbsd tcpdump python3 sudo passwd
          procps psmisc util-linux ca-certificates chromium xvfb ncat netcat-traditional busybox)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "bootstrap: missing ${missing[*]}, and this is not a Debian-like system; install them with your package manager" >&2
    exit 1
  fi
  as_root=()
  if [ "$(id -u)" != 0 ]; then
    if sudo -n true 2>/dev/null; then as_root=(sudo -n); else
      echo "bootstrap: missing Debian packages: ${missing[*]}" >&2
      echo "bootstrap: install them as root: sudo apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages, when node_modules is missing or older than the lock file. Electron's runtime is
# downloaded from GitHub, which lab and CI machines often cannot reach; nothing here needs it.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bootstrap: npm ci"
  ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci --no-audit --no-fund
fi
