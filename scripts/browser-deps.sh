#!/usr/bin/env bash
# Debian's Chromium for the real-browser test. Installed when missing and we may use apt-get;
# otherwise the browser test skips itself and says why.
set -uo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> Installiere Chromium für den Browser-Test (Debian-Paket)"
  apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 \
    || echo "Chromium konnte nicht installiert werden; der Browser-Test wird übersprungen."
else
  echo "Chromium fehlt und apt-get ist nicht nutzbar; der Browser-Test wird übersprungen."
fi
exit 0
