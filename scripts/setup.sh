#!/usr/bin/env bash
# Installs what the enrollment station needs on Debian 12 / Ubuntu 22.04+, then the UI's npm
# packages. Safe to run again: it installs only what is missing.
#   scripts/setup.sh          build and run needs
#   scripts/setup.sh --test   also the end-to-end test tools (tauri-driver)
set -euo pipefail
cd "$(dirname "$0")/.."

with_test_tools=false
[ "${1:-}" = "--test" ] && with_test_tools=true

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# Build: Tauri 2 (WebKitGTK 4.1 and friends) and a C toolchain for bundled SQLite and ring.
# Run and test: Xvfb for a display when there is none, WebKitWebDriver for the UI tests,
# secret-tool to keep the station's vault key in the OS keyring (Secret Service).
# Devices: libclang for the V4L2 bindings nokhwa generates, nasm for its SIMD JPEG decoder,
# libfprint for the libfprint reader backend (a cargo feature the test command turns on).
packages=(
  build-essential pkg-config libclang-dev nasm libfprint-2-dev
  libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev librsvg2-dev libayatana-appindicator3-dev
  xvfb xauth webkit2gtk-driver
  libsecret-tools
)
# The keyring test runs against a real Secret Service in a private D-Bus session; the server's
# scale-out backend is tested against a real PostgreSQL (scripts/services.sh starts it).
$with_test_tools && packages+=(gnome-keyring dbus-daemon postgresql openssl curl python3)
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  say "Installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: no Rust toolchain found. Install one with rustup (Rust 1.85 or newer), then run this again." >&2
  exit 1
fi

if $with_test_tools; then
  cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
  if ! command -v tauri-driver >/dev/null 2>&1 && [ ! -x "$cargo_bin/tauri-driver" ]; then
    say "Installing tauri-driver"
    cargo install tauri-driver --locked --version 2.1.0
  fi
  # A real S3-compatible object store for the scale-out backend's tests: Garage (AGPL-3.0, run
  # as a separate program, never linked), from crates.io since Debian does not package it.
  if ! command -v garage >/dev/null 2>&1 && [ ! -x "$cargo_bin/garage" ]; then
    say "Installing Garage (S3-compatible object store; about 11 minutes on 2 cores)"
    cargo install garage --locked --version 2.5.0
  fi
fi

say "Installing the UI's npm packages"
# Not `npm ci`: the registry mirror we build against omits other platforms' optional packages
# (rollup, esbuild) from lock files, and `npm ci` refuses such a lock. `npm install` honours the
# pinned versions in it and leaves it unchanged.
npm install --prefix ui --no-audit --no-fund --loglevel=error
