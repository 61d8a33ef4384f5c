#!/usr/bin/env bash
# Install Thread Analyzer and open the dashboard on the bundled examples (the README's main command).
# Safe without a terminal (a service, nohup, CI, `setsid bash scripts/demo.sh < /dev/null &`):
# nothing is asked, nothing read from stdin, a browser opens only with a display and a terminal.
# Arguments go to `analyzer demo` (--port, --db, --address, --no-browser, --examples).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d .venv ] || python3 -m venv .venv
. .venv/bin/activate
# Install when the package is missing, and again only when pyproject.toml changes (a restart
# needs no network; an environment already set up, e.g. by scripts/test.sh, is used as it is).
stamp=".venv/.thread-analyzer-demo-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if ! python -c 'import analyzer, streamlit, captum' 2>/dev/null \
   || { [ -f "$stamp" ] && [ "$(cat "$stamp")" != "$want" ]; }; then
  pip install -q --disable-pip-version-check --upgrade pip
  pip install -q --disable-pip-version-check -e '.[dashboard,explain]'
fi
echo "$want" > "$stamp"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export STREAMLIT_SERVER_HEADLESS=true STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
exec analyzer demo "$@"
