#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine, then run the whole suite.
# (The README's test command; .ci/run calls exactly this.)
set -euo pipefail
cd "$(dirname "$0")/.."

# System parts: PostgreSQL (store tests run on it too) and Debian's Chromium (browser tests).
if command -v apt-get >/dev/null 2>&1; then
  need=()
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
  if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" fonts-dejavu-core >/dev/null
  fi
fi

# Python parts: the project with its test extras, torch pinned to the local CPU build.
[ -d .venv ] || python3 -m venv .venv
. .venv/bin/activate
pip install -q --upgrade pip
pip install -q -e '.[test]'

# A real PostgreSQL server on loopback for the store tests.
if [ -z "${THREAD_ANALYZER_TEST_PG_URL:-}" ] && [ -x .ci/start-postgres.sh ]; then
  THREAD_ANALYZER_TEST_PG_URL="$(bash .ci/start-postgres.sh | tail -n 1)"
  export THREAD_ANALYZER_TEST_PG_URL
fi

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# Lint, format and types first (pyproject's [tool.ruff] and [tool.mypy]): a finding stops the run.
ruff check analyzer tests benchmarks scripts app.py
ruff format --check analyzer tests benchmarks scripts app.py
mypy analyzer
# The default tier (kept under 15 minutes on a busy 2-core machine), then the slow tier.
python -m pytest -q --timeout=900 "$@"
python -m pytest -q --timeout=1800 -m slow "$@"
