#!/usr/bin/env bash
# Debian packages Glimpse needs beyond Python: Chromium (static export, browser tests) and fonts so that
# non-Latin scripts and emoji render in exported figures. Skips what is already installed.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
for pkg in fonts-noto-cjk fonts-noto-color-emoji fonts-dejavu-core; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
