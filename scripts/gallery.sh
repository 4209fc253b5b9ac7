#!/usr/bin/env bash
# Redraw the figure gallery (docs/gallery.md, docs/gallery/*.png): every exported figure kind laid out for
# print, drawn by Kaleido with Debian's Chromium. Like screenshot.sh, one of the few commands that write
# into the checkout. Usage: bash scripts/gallery.sh  (PYTHON=/path/to/python to use another interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
HF_HUB_OFFLINE=1 ${PYTHON:-.venv/bin/python} scripts/gallery.py
