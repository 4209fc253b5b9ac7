#!/usr/bin/env bash
# Install (first time) and launch Glimpse on the embedded default model, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh  # Chromium and fonts for static figure export
bash scripts/setup.sh requirements.lock
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"  # the default model ships in a pip package; never wait on a hub
# Large arrays go back to the system when freed (glibc would keep them in its arenas), so the server's memory
# follows the result cache's budget (GLIMPSE_CACHE_MB) instead of its high-water mark.
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}" MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
exec .venv/bin/streamlit run serve.py "$@"
