#!/usr/bin/env bash
# Installs what is missing, builds the web app and the bridge, and starts the bridge.
# Arguments are passed to the bridge: ./scripts/run.sh --listen 0.0.0.0:9000
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh

prebuild=""
if ! have_trunk || ! have_wasm_bindgen; then
  # A first run: the tools' installs leave a core idle much of the time, and the bridge's
  # dependencies need nothing from them, so the bridge compiles meanwhile. It compiles before the
  # app exists; touching the file that embeds the app (below) makes the last build take it in.
  log="$CACHE_DIR/prebuild-bridge.log"
  mkdir -p "$CACHE_DIR"
  say "compiling the bridge meanwhile (log: $log)"
  cargo build --release --locked -p bridge >"$log" 2>&1 &
  prebuild=$!
fi
ensure_build_tools
build_web
if [ -n "$prebuild" ]; then
  # Its failure is not this run's: the build below shows any error in full.
  wait "$prebuild" || true
  touch bridge/src/assets.rs
fi
say "building and starting the bridge"
exec cargo run --release --quiet -p bridge -- "$@"
