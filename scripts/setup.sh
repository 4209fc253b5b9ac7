#!/usr/bin/env bash
# Create .venv and install Glimpse's pinned requirements (torch 2.13.0 CPU build, no CUDA).
# Usage: scripts/setup.sh [requirements file]   (default requirements.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
req="${1:-requirements.txt}"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q -r "$req"
