#!/bin/sh
# The one command that serves the app. `make run`, deploy/Dockerfile, deploy/compose.yaml, deploy/bnlab@.service
# and tests/app/test_replicas.py all start the app through this file, so what is tested is what is deployed.
#
# Environment (all optional):
#   BNLAB_PORT      the port (8501)
#   BNLAB_ADDRESS   the address to listen on (default: every interface; 127.0.0.1 behind a proxy on the same host)
#   BNLAB_PYTHON    the Python that has requirements.txt installed (python3)
#   BNLAB_WORKERS   training workers of this process (default: one per CPU core; see lab/pool.py)
#   BNLAB_STORE     the run store: unset = a private folder on disk, redis://host:6379/0 = one store shared by
#                   several replicas (see lab/store.py)
set -eu
cd "$(dirname "$0")/.."
set -- --server.port "${BNLAB_PORT:-8501}"
if [ -n "${BNLAB_ADDRESS:-}" ]; then
  set -- "$@" --server.address "$BNLAB_ADDRESS"
fi
# No file watcher: a served app does not change under it, and without the watchdog package Streamlit would poll
# every source file. The rest of the server's settings are in .streamlit/config.toml.
exec "${BNLAB_PYTHON:-python3}" -m streamlit run app.py --server.fileWatcherType none "$@"
