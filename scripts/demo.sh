#!/usr/bin/env bash
# Install Thread Analyzer and open the dashboard on the bundled examples (the README's main command).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d .venv ] || python3 -m venv .venv
. .venv/bin/activate
pip install -q --upgrade pip
pip install -q -e '.[dashboard,explain]'
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec analyzer demo "$@"
