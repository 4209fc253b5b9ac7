#!/usr/bin/env bash
# Retake the README's screenshot: the Attention page on the embedded model, in Debian's Chromium with the
# network cut. The tests never write into the checkout; this is the one command that does.
# Usage: bash scripts/screenshot.sh [OUT.png]   (default docs/screenshot.png)
set -euo pipefail
cd "$(dirname "$0")/.."
HF_HUB_OFFLINE=1 .venv/bin/python -m tests.browser_harness "${1:-docs/screenshot.png}"
