#!/usr/bin/env bash
# Install everything (test tools and Debian's Chromium included) and run the whole suite:
# lint, types, unit tests on tiny models, AppTest pages, and real-browser tests with the network cut.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/setup.sh requirements-dev.lock
.venv/bin/ruff check .
.venv/bin/mypy
HF_HUB_OFFLINE=1 .venv/bin/python -m pytest "$@"
