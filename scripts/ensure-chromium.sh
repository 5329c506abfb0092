#!/usr/bin/env bash
# Make sure Debian's chromium is installed for the browser tests (Galata) and the lab
# benchmark. Playwright's own browser download cannot run here (no internet), so the
# system package is the browser; print its path.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
    echo /usr/bin/chromium
    exit 0
fi
if [[ $(id -u) -eq 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "ensure-chromium: chromium is not installed and we are neither root nor have sudo." >&2
    echo "ensure-chromium: install it manually: apt-get install -y chromium" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: apt-get not found; install chromium manually (/usr/bin/chromium)." >&2
    exit 1
fi
echo "ensure-chromium: installing chromium (apt-get)..." >&2
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
if [[ ! -x /usr/bin/chromium ]]; then
    echo "ensure-chromium: installation finished but /usr/bin/chromium is missing." >&2
    exit 1
fi
echo /usr/bin/chromium
