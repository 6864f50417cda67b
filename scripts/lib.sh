# Shared by scripts/run and scripts/test: install what is missing (and only
# that), and set up the build environment. Source it; do not run it.

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KEYHOLD_CACHE="${KEYHOLD_CACHE:-$HOME/.cache/keyhold}"
mkdir -p "$KEYHOLD_CACHE"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$KEYHOLD_CACHE/target}"
export PATH="$HOME/.cargo/bin:$PATH"
HOST_CARGO="$(command -v cargo)"

CARGO_LEPTOS_VERSION=0.3.11
BINARYEN_VERSION=132
MOTO_VERSION=5.2.5

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# RUSTFLAGS would replace the flags of .cargo/config.toml for the server
# (cargo reads one or the other), and the server must be built with
# `--cfg erase_components` like the wasm, or hydration fails.
[ -z "${RUSTFLAGS:-}" ] || die "unset RUSTFLAGS: it replaces the build flags in .cargo/config.toml (see README: Performance)"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# ensure_apt PACKAGE...: installs the Debian packages that are not installed.
ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Node.js and npm for the end-to-end tests and wasm-opt.
ensure_node() {
  command -v node >/dev/null && command -v npm >/dev/null || ensure_apt nodejs npm
}

has_rustup_wasm() {
  command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown
}

# The browser build needs a wasm32 standard library. With rustup's wasm32
# target installed it is used as is; otherwise Debian's rustc-web (whose LLVM
# has the wasm backend) builds a wasm32 sysroot once, kept in the cache.
# Sets FRONT_PATH: the PATH under which `cargo` builds the wasm.
ensure_wasm_toolchain() {
  if has_rustup_wasm; then
    FRONT_PATH="$PATH"
    return 0
  fi
  ensure_apt rustc-web cargo-web rust-web-src lld-19
  local version
  version="$(/usr/bin/rustc --version | awk '{print $2}')"
  WASM_SYSROOT="$KEYHOLD_CACHE/wasm-sysroot-$version"
  local libdir="$WASM_SYSROOT/lib/rustlib/wasm32-unknown-unknown/lib"
  if [ ! -f "$WASM_SYSROOT/.complete" ]; then
    say "building the wasm32 standard library with Debian's rustc $version (once)"
    local work="$KEYHOLD_CACHE/wasm-sysroot-build"
    rm -rf "$work" "$WASM_SYSROOT"
    mkdir -p "$work/src" "$libdir" "$WASM_SYSROOT/lib/rustlib"
    printf '[package]\nname = "sysroot-seed"\nversion = "0.0.0"\nedition = "2021"\n[lib]\npath = "src/lib.rs"\n[profile.release]\npanic = "abort"\n' >"$work/Cargo.toml"
    printf '#![no_std]\n' >"$work/src/lib.rs"
    (cd "$work" && PATH=/usr/bin:/bin RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$work/target" \
      cargo build -q --release --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort)
    find "$work/target/wasm32-unknown-unknown/release/deps" -name '*.rlib' ! -name 'libsysroot_seed*' -exec cp {} "$libdir/" \;
    ln -sfn /usr/lib/rustlib/x86_64-unknown-linux-gnu "$WASM_SYSROOT/lib/rustlib/x86_64-unknown-linux-gnu"
    rm -rf "$work"
    touch "$WASM_SYSROOT/.complete"
  fi
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-19
  # --cfg erase_components: as .cargo/config.toml sets for the server.
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--sysroot=$WASM_SYSROOT --cfg erase_components"
  # cargo-leptos calls `cargo` by name for the wasm build: make that Debian's.
  FRONT_PATH="/usr/bin:/bin:$HOME/.cargo/bin:$PATH"
}

# cargo-leptos, built without its download feature (it must find wasm-bindgen
# and wasm-opt on PATH). It needs cargo >= 1.96 to build.
ensure_cargo_leptos() {
  if cargo-leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION"; then return 0; fi
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 20 minutes, once)"
  local cargo_for_install="$HOST_CARGO"
  if ! "$HOST_CARGO" --version | awk '{split($2, v, "."); exit !(v[1] > 1 || v[2] >= 96)}'; then
    ensure_apt rustc-web cargo-web
    cargo_for_install=/usr/bin/cargo
  fi
  PATH="$(dirname "$cargo_for_install"):$PATH" CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    "$cargo_for_install" install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked \
    --features no_downloads --root "$HOME/.cargo" --quiet
}

# wasm-bindgen-cli must match the wasm-bindgen version in Cargo.lock.
ensure_wasm_bindgen() {
  local want
  want="$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/"/, "", $3); print $3; exit}' "$REPO_ROOT/Cargo.lock")"
  [ -n "$want" ] || die "wasm-bindgen is missing from Cargo.lock"
  if wasm-bindgen --version 2>/dev/null | grep -q " $want\$"; then return 0; fi
  say "installing wasm-bindgen-cli $want (a few minutes, once)"
  "$HOST_CARGO" install wasm-bindgen-cli --version "$want" --root "$HOME/.cargo" --quiet
}

# wasm-opt (binaryen from npm; Debian's is too old) for release builds.
ensure_wasm_opt() {
  local dir="$KEYHOLD_CACHE/binaryen-$BINARYEN_VERSION"
  if [ ! -x "$dir/node_modules/.bin/wasm-opt" ]; then
    ensure_node
    say "installing wasm-opt (binaryen $BINARYEN_VERSION)"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION" >/dev/null
  fi
  export PATH="$PATH:$dir/node_modules/.bin"
  FRONT_PATH="$FRONT_PATH:$dir/node_modules/.bin"
}

# moto's S3-compatible server (PyPI `moto[server]`) in its own virtualenv:
# the integration tests run the S3 path against it. Exports KEYHOLD_MOTO_SERVER.
ensure_moto() {
  local venv="$KEYHOLD_CACHE/moto-venv-$MOTO_VERSION"
  if [ ! -x "$venv/bin/moto_server" ]; then
    if ! command -v python3 >/dev/null || ! python3 -c 'import ensurepip' 2>/dev/null; then
      ensure_apt python3 python3-venv
    fi
    say "installing moto $MOTO_VERSION (an S3-compatible server for the tests)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  fi
  export KEYHOLD_MOTO_SERVER="$venv/bin/moto_server"
}

# Builds the site (server binary + wasm + CSS) with cargo-leptos.
# Usage: build_site [--release]
build_site() {
  ensure_wasm_toolchain
  ensure_cargo_leptos
  ensure_wasm_bindgen
  [ "${1:-}" = "--release" ] && ensure_wasm_opt
  say "building the site${1:+ ($1)}"
  (
    cd "$REPO_ROOT"
    # The server half is built by the host toolchain (shared with cargo test and
    # clippy); only the wasm half uses FRONT_PATH's cargo.
    export LEPTOS_BIN_CARGO_COMMAND="$REPO_ROOT/scripts/host-cargo"
    export KEYHOLD_HOST_CARGO="$HOST_CARGO"
    # A release build also writes brotli and gzip variants of every file.
    local precompress=()
    [ "${1:-}" = "--release" ] && precompress=(--precompress)
    PATH="$FRONT_PATH" cargo-leptos build "$@" "${precompress[@]}"
    # The hashed names of pkg/ travel with the site, not only beside the binary.
    local profile=debug
    [ "${1:-}" = "--release" ] && profile=production
    cp "$CARGO_TARGET_DIR/$profile/hash.txt" target/site/hash.txt
  )
}

# A free TCP port on loopback, starting at $1.
free_port() {
  local port="$1"
  while (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null; do port=$((port + 1)); done
  echo "$port"
}
