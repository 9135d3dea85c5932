#!/usr/bin/env bash
# What the real-browser tests need: Debian's Chromium and axe-core (npm, version pinned in
# tests/axe/package-lock.json) for the accessibility check. Each is installed when missing and we
# may (apt-get as root, npm from its registry); otherwise the browser tests skip themselves and say why.
set -uo pipefail
cd "$(dirname "$0")/.."

can_apt() { [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; }
APT_UPDATED=""
apt_install() {
  [ -n "$APT_UPDATED" ] || { apt-get update -qq >/dev/null 2>&1 || true; APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}

if [ ! -x /usr/bin/chromium ]; then
  if can_apt; then
    echo "==> Installiere Chromium für den Browser-Test (Debian-Paket)"
    apt_install chromium || echo "Chromium konnte nicht installiert werden; der Browser-Test wird übersprungen."
  else
    echo "Chromium fehlt und apt-get ist nicht nutzbar; der Browser-Test wird übersprungen."
  fi
fi

if [ ! -f tests/axe/node_modules/axe-core/axe.min.js ]; then
  if ! command -v npm >/dev/null 2>&1 && can_apt; then
    echo "==> Installiere npm (Debian-Paket) für axe-core"
    apt_install npm || true
  fi
  if command -v npm >/dev/null 2>&1; then
    echo "==> Installiere axe-core für den Barrierefreiheits-Test (npm, Version aus tests/axe/package-lock.json)"
    npm ci --prefix tests/axe --no-audit --no-fund --silent \
      || echo "axe-core konnte nicht installiert werden; der Barrierefreiheits-Test wird übersprungen."
  else
    echo "npm fehlt; der Barrierefreiheits-Test wird übersprungen."
  fi
fi
exit 0
