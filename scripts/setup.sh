#!/usr/bin/env bash
# Create .venv and install exactly the locked requirements: every transitive dependency pinned, each file
# checked against its sha256 (--require-hashes), so a fresh machine gets what CI tested (torch 2.13.0 CPU build).
# Usage: scripts/setup.sh [lock]   (default requirements.lock; the tests use requirements-dev.lock)
# A requirements*.txt argument means its lock. When the lock is unchanged since the last install here (its
# sha256 is in .venv/.glimpse-lock-sha256), pip is skipped entirely: a warm start costs no pip run.
set -euo pipefail
cd "$(dirname "$0")/.."
lock="${1:-requirements.lock}"
case "$lock" in *.txt) lock="${lock%.txt}.lock" ;; esac
[ -f "$lock" ] || { echo "setup.sh: no lock file '$lock' (see README: Dependencies)" >&2; exit 2; }
[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=.venv/.glimpse-lock-sha256
line() { echo "$(sha256sum "$1" | cut -d' ' -f1)  $1"; }
if [ -f "$stamp" ] && grep -qxF "$(line "$lock")" "$stamp"; then
    exit 0
fi
.venv/bin/python -m pip install -q --require-hashes -r "$lock"
# The stamp names every lock this venv now satisfies: this one, and any other whose pins are all in it
# (the dev lock holds the runtime lock's pins, so scripts/run.sh after scripts/test.sh skips pip too).
pins() { grep -E '^[A-Za-z0-9]' "$1" | sed 's/ .*//' | sort; }
: >"$stamp.new"
for other in requirements*.lock; do
    if [ "$other" = "$lock" ] || [ -z "$(comm -23 <(pins "$other") <(pins "$lock"))" ]; then
        line "$other" >>"$stamp.new"
    fi
done
mv "$stamp.new" "$stamp"
