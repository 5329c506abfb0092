#!/usr/bin/env bash
# `make lab`: a local hub with demo content, and JupyterLab beside it.
# Until the lab extension starts the hub itself, this script runs both and stops the hub
# when JupyterLab exits.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
DATA=${WORKBENCH_DATA:-$PWD/.lab-data/hub}
PORT=${WORKBENCH_PORT:-8765}
LAB_PORT=${LAB_PORT:-8888}
URL="http://127.0.0.1:${PORT}"
mkdir -p "$DATA" .lab-data/notebooks

export HF_HUB_DISABLE_TELEMETRY=1 HF_UPDATE_DOWNLOAD_COUNTS=0 DO_NOT_TRACK=1
export WORKBENCH_HUB_URL="$URL" HF_ENDPOINT="$URL"

"$BIN/workbench" hub serve --port "$PORT" --data "$DATA" > .lab-data/hub.log 2>&1 &
HUB_PID=$!
trap 'kill $HUB_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if "$BIN/python" -c "import httpx,sys; sys.exit(httpx.get('$URL/api/health').status_code != 200)" 2>/dev/null; then
    break
  fi
  kill -0 $HUB_PID 2>/dev/null || { cat .lab-data/hub.log; exit 1; }
  sleep 0.2
done
"$BIN/workbench" demo --url "$URL"
echo "Workbench hub: $URL (data: $DATA, log: .lab-data/hub.log)"
# The kernels JupyterLab starts inherit WORKBENCH_HUB_URL and HF_ENDPOINT from here.
cp -n notebooks/*.ipynb .lab-data/notebooks/ 2>/dev/null || true
"$BIN/jupyter" lab --allow-root --no-browser --ip 127.0.0.1 --port "$LAB_PORT" \
  --ServerApp.root_dir="$PWD/.lab-data/notebooks" "$@"
