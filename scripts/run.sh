#!/usr/bin/env bash
# The run command: installs what is missing, builds, and starts duband on
# 127.0.0.1:50051 with its data in ./data (the Qinghai plan imported on first start).
#   scripts/run.sh [extra duband flags]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
LISTEN="${DUBAN_LISTEN:-127.0.0.1:50051}"
DATA="${DUBAN_DATA_DIR:-data}"
cat <<MSG

duband will listen on ${LISTEN}, data in ${DATA}/
  admin credential: ${DATA}/admin.token (created on first start, mode 0600)
  try, in another terminal:
    build/clients/dubanctl --server ${LISTEN} --data-dir ${DATA} tasks list --agency 省教育厅
  stop with Ctrl-C.

MSG
exec build/services/duband --listen="${LISTEN}" --data_dir="${DATA}" "$@"
