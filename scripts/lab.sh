#!/usr/bin/env bash
# `make lab`: JupyterLab with the Workbench extension. The server extension starts the embedded
# hub (data in .lab-data/hub, port 8765), publishes the demo content in the background, hands
# kernels and terminals the hub URL and token, and stops the hub when JupyterLab exits.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
DATA=${WORKBENCH_DATA:-$PWD/.lab-data/hub}
PORT=${WORKBENCH_PORT:-8765}
LAB_PORT=${LAB_PORT:-8888}
mkdir -p "$DATA" .lab-data/notebooks

export HF_HUB_DISABLE_TELEMETRY=1 HF_UPDATE_DOWNLOAD_COUNTS=0 DO_NOT_TRACK=1
# A hub configured in the environment would replace the embedded one; make lab wants its own.
unset WORKBENCH_HUB_URL WORKBENCH_TOKEN

cp -n notebooks/*.ipynb .lab-data/notebooks/ 2>/dev/null || true
echo "Workbench hub: http://127.0.0.1:${PORT} (data: $DATA, log: $DATA/hub.log); JupyterLab on port $LAB_PORT"
exec "$BIN/jupyter" lab --allow-root --no-browser --ip 127.0.0.1 --port "$LAB_PORT" \
  --ServerApp.root_dir="$PWD/.lab-data/notebooks" \
  --Workbench.data_dir="$DATA" --Workbench.port="$PORT" --Workbench.demo=True "$@"
