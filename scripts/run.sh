#!/usr/bin/env bash
# Installs what is missing, builds the web app and the bridge, and starts the bridge.
# Arguments are passed to the bridge: ./scripts/run.sh --listen 0.0.0.0:9000
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh

ensure_build_tools
build_web
say "building and starting the bridge"
exec cargo run --release --quiet -p bridge -- "$@"
