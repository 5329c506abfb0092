#!/usr/bin/env bash
# Make sure configurable-http-proxy (JupyterHub's proxy, an npm package) is installed for the
# JupyterHub tests (tests/support/jupyterhub.py) and the JupyterHub benchmark, in the project's
# own tests/support/chp/node_modules (as pinned by its package-lock.json); print its path.
set -euo pipefail
cd "$(dirname "$0")/../tests/support/chp"
bin=node_modules/.bin/configurable-http-proxy
if [[ ! -x $bin || package-lock.json -nt node_modules/.package-lock.json ]]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "ensure-chp: npm is not installed (it comes with Node.js, which the lab extension needs too)." >&2
        exit 1
    fi
    npm ci --no-audit --no-fund --loglevel=error >&2
fi
printf '%s\n' "$PWD/$bin"
