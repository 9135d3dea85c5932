#!/usr/bin/env bash
# Idempotent set-up: .venv with the project, the verified embedding model, and (with --index)
# a current search index. Every step is skipped when already done. With --no-model only the .venv
# (for `make test-fast`, which needs neither model nor index).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
PY="$VENV/bin/python"
STAMP="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"

if [ ! -x "$PY" ]; then
  echo "==> Lege virtuelle Umgebung unter $VENV an"
  python3 -m venv "$VENV"
fi
if [ ! -f "$STAMP" ]; then
  echo "==> Installiere Abhängigkeiten (torch zuerst: CPU-Build von der lokalen Platte)"
  "$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$PY" -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
  "$PY" -m pip install --quiet --disable-pip-version-check -e ".[dev]"
  rm -f "$VENV"/.installed-*
  touch "$STAMP"
fi

if [ "${1:-}" = "--no-model" ]; then
  exit 0
fi

echo "==> Prüfe Embedding-Modell"
"$PY" -m assistant fetch-model

if [ "${1:-}" = "--index" ]; then
  echo "==> Prüfe Suchindex"
  "$PY" -m assistant build-index
fi
