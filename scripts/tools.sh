# Installs, when missing, what building and testing TCP Bridge needs, and puts it on PATH.
# Sourced by run.sh and test.sh; every step is a no-op when its tool is already there.
#   ensure_build_tools: wasm32 target, trunk, wasm-bindgen-cli, wasm-opt
#   ensure_test_tools:  the above, plus Chromium, ChromeDriver, a CJK font, Python, tshark, the
#                       field's clients (pymodbus, PyVISA) and the browser-test packages

TRUNK_VERSION=0.21.14
BINARYEN_VERSION=132
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/tcp-bridge"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$CACHE_DIR/binaryen/node_modules/.bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} (apt)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# The wasm32 target: from rustup when it can download it, else Debian's Rust with its std source.
ensure_wasm_target() {
  if rustc --print sysroot >/dev/null 2>&1 &&
     [ -d "$(rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown" ]; then
    return 0
  fi
  if rustup toolchain list | grep -q '^debian-web' && dpkg -s rust-web-src >/dev/null 2>&1; then
    use_debian_wasm; return 0
  fi
  say "adding the wasm32-unknown-unknown target"
  if timeout 300 rustup target add wasm32-unknown-unknown; then return 0; fi
  say "rustup could not download the target: building std for wasm with Debian's Rust instead"
  apt_install rustc-web cargo-web rust-web-src lld-22
  rustup toolchain list | grep -q '^debian-web' || rustup toolchain link debian-web /usr
  use_debian_wasm
}

use_debian_wasm() {
  # Only the wasm build sees these (trunk runs cargo with them); native builds stay on stable.
  export WASM_BUILD_ENV="RUSTUP_TOOLCHAIN=debian-web RUSTC_BOOTSTRAP=1 CARGO_UNSTABLE_BUILD_STD=std,panic_abort CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22"
}

# The two tools are built with cargo's debug profile, at the same time. Their release profiles
# (trunk's asks for fat LTO and one codegen unit) spend minutes optimising programs that then run
# for a second per build: measured on 2 cores, trunk took 459 s to install with its release profile
# and 246 s of CPU with the debug one, wasm-bindgen-cli 251 s and 94 s; a later build of the web
# app costs about 1 s more CPU for it. Both, with the bridge compiling alongside, took 309 s. Each install is a build of its own that leaves a core
# idle at times (its largest crates, its link), so the two together take little longer than trunk.
# Each writes a log; it is shown when the install fails.
have_trunk() { trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION\$"; }

install_trunk() {
  CARGO_PROFILE_DEV_DEBUG=0 cargo install --debug --locked trunk --version "$TRUNK_VERSION"
}

# Must be exactly the wasm-bindgen version in Cargo.lock, or trunk tries to download one.
wasm_bindgen_wanted() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

have_wasm_bindgen() { wasm-bindgen --version 2>/dev/null | grep -q " $(wasm_bindgen_wanted)\$"; }

install_wasm_bindgen_cli() {
  # Not --locked: a locked dependency of the CLI is missing from some registry mirrors.
  CARGO_PROFILE_DEV_DEBUG=0 cargo install --debug wasm-bindgen-cli --version "=$(wasm_bindgen_wanted)"
}

# Runs `install_TOOL` (TOOL with - as _) in the background, its output in a log; its pid is left
# in install_pid.
start_install() {
  local tool=$1 log="$CACHE_DIR/install-$1.log"
  mkdir -p "$CACHE_DIR"
  say "installing $tool in the background (once; log: $log)"
  "install_${tool//-/_}" >"$log" 2>&1 &
  install_pid=$!
}

# Waits for an install started by start_install; on failure shows the end of its log.
finish_install() {
  local tool=$1 pid=$2 log="$CACHE_DIR/install-$1.log"
  if wait "$pid"; then return 0; fi
  tail -n 30 "$log" >&2
  say "installing $tool failed: the lines above are the end of $log"
  return 1
}

# Debian's binaryen is too old for trunk; npm's is current.
ensure_wasm_opt() {
  if wasm-opt --version 2>/dev/null | grep -q "version $BINARYEN_VERSION"; then return 0; fi
  command -v npm >/dev/null || apt_install nodejs npm
  say "installing wasm-opt (binaryen@$BINARYEN_VERSION, npm)"
  mkdir -p "$CACHE_DIR/binaryen"
  npm install --silent --no-audit --no-fund --prefix "$CACHE_DIR/binaryen" "binaryen@$BINARYEN_VERSION"
}

ensure_build_tools() {
  ensure_wasm_target
  local trunk_job="" bindgen_job="" install_pid
  if ! have_trunk; then start_install trunk; trunk_job=$install_pid; fi
  if ! have_wasm_bindgen; then start_install wasm-bindgen-cli; bindgen_job=$install_pid; fi
  ensure_wasm_opt
  local failed=0
  [ -z "$trunk_job" ] || finish_install trunk "$trunk_job" || failed=1
  [ -z "$bindgen_job" ] || finish_install wasm-bindgen-cli "$bindgen_job" || failed=1
  return $failed
}

# Clients of the field, which the device examples must satisfy as their real devices would:
# pymodbus (Modbus RTU framing over TCP) and PyVISA with its pure-Python backend (an instrument
# on a raw TCP socket), in a virtual environment of their own, at the versions tested.
FIELD_CLIENTS="pymodbus==3.8.6 pyvisa==1.14.1 pyvisa-py==0.7.2"
export PEERS_PYTHON="$CACHE_DIR/field-clients/bin/python"

ensure_field_clients() {
  if [ -x "$PEERS_PYTHON" ] && [ "$(cat "$CACHE_DIR/field-clients/installed" 2>/dev/null)" = "$FIELD_CLIENTS" ]; then
    return 0
  fi
  apt_install python3-venv # Debian's python3 makes no environment without it
  say "installing the field's clients ($FIELD_CLIENTS; pip, into $CACHE_DIR/field-clients)"
  rm -rf "$CACHE_DIR/field-clients"
  python3 -m venv "$CACHE_DIR/field-clients"
  # shellcheck disable=SC2086
  "$PEERS_PYTHON" -m pip install --quiet --disable-pip-version-check $FIELD_CLIENTS
  echo "$FIELD_CLIENTS" >"$CACHE_DIR/field-clients/installed"
}

ensure_test_tools() {
  ensure_build_tools
  # A font with Chinese in it, so that the tests' Chinese (and the README's screenshots) render.
  apt_install chromium chromium-driver fonts-wqy-microhei
  command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
  command -v python3 >/dev/null || apt_install python3 # the tutorial's own client and server
  command -v openssl >/dev/null || apt_install openssl # a TLS client the bridge did not write
  command -v socat >/dev/null || apt_install socat     # the plain relay the proxy is measured against
  if ! command -v tshark >/dev/null; then # reads back what `bridge pcap` writes
    # Its package asks whether non-root users may capture; nothing here captures.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | as_root debconf-set-selections
    apt_install tshark
  fi
  ensure_field_clients
  if [ ! -d e2e/node_modules/playwright-core ]; then
    say "installing the browser-test driver (playwright-core, npm; it uses Debian's Chromium)"
    npm ci --silent --no-audit --no-fund --prefix e2e
  fi
}

# Builds the web app into dist/, which the bridge embeds.
# What dist/ is built from: the sources trunk reads, the tools' versions and the wasm build's
# environment. A run whose inputs are those of the last build keeps dist/ as it is: trunk would
# spend some 20 s shrinking the same wasm again, and the bridge would then be compiled again to
# embed the same files.
web_inputs() {
  {
    trunk --version; wasm-bindgen --version; wasm-opt --version; echo "${WASM_BUILD_ENV:-}"
    find index.html Trunk.toml Cargo.toml Cargo.lock web protocol -type f -print0 |
      LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -d' ' -f1
}

build_web() {
  local stamp=.dist-inputs inputs
  inputs="$(web_inputs)"
  if [ -f dist/index.html ] && [ "$(cat "$stamp" 2>/dev/null)" = "$inputs" ]; then
    say "the web app in dist/ is up to date"
    return 0
  fi
  say "building the web app (trunk build --release)"
  rm -f "$stamp"
  # shellcheck disable=SC2086
  env ${WASM_BUILD_ENV:-} trunk build --release
  echo "$inputs" >"$stamp"
}
