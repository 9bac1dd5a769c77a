#!/usr/bin/env bash
# Sets up everything and runs every check and test: formatting, lints, the UI type check, the
# Rust unit and integration tests, the system tests, and the UI end-to-end test against the real
# app under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

bash scripts/setup.sh --test

# The app embeds ui/dist; every cargo step uses the same features so nothing is built twice.
features=(--features enrollment-station/custom-protocol,station-hardware/libfprint)

say "Formatting"
cargo fmt --all -- --check
say "UI type check and build"
npm --prefix ui run build --silent
say "Clippy"
cargo clippy --workspace --all-targets "${features[@]}" -- -D warnings
say "Building the app"
# --all-targets resolves features as `cargo test` does (dev-dependencies included), so the test
# step reuses this build instead of compiling Tauri again.
cargo build --workspace --all-targets "${features[@]}"
say "Unit, integration and system tests"
cargo test --workspace "${features[@]}"
say "OS keyring test (a private D-Bus session with an unlocked GNOME Keyring)"
keyring_home=$(mktemp -d)
XDG_DATA_HOME="$keyring_home" dbus-run-session -- bash -c '
  printf "keyring-test" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  exec cargo test --workspace "$@" --test keyring -- --ignored
' bash "${features[@]}"
rm -rf "$keyring_home"
say "UI end-to-end test (real app under Xvfb, via tauri-driver and WebKitWebDriver)"
xvfb-run -a -s "-screen 0 1366x768x24" \
  cargo test --workspace "${features[@]}" --test ui_e2e -- --ignored --nocapture
say "All checks passed. Screenshots: target/e2e-screenshots/"
