#!/usr/bin/env bash
# Sets up everything and runs every check and test: formatting, lints, the UI type check, the
# Rust unit and integration tests, the system tests, and the UI end-to-end test against the real
# app under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# A test run builds once: incremental caches would only add gigabytes to target/.
export CARGO_INCREMENTAL=0

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
# The two tests below need a Secret Service or a display, so `cargo test` skips them; they are
# run here from the binaries the step above built. (`cargo test --test NAME` would resolve
# features over fewer packages and build the whole dependency tree a second time, gigabytes more
# disk.) Each runs from its package's folder, as cargo runs it.
test_binary() {
  cargo test --workspace "${features[@]}" --no-run --message-format=json | node -e '
    const name = process.argv[1];
    const found = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean)
      .map((line) => JSON.parse(line))
      .filter((m) => m.reason === "compiler-artifact" && m.executable &&
        m.target.name === name && m.target.kind.includes("test"));
    if (found.length !== 1) {
      console.error(`expected one test binary named ${name}, found ${found.length}`);
      process.exit(1);
    }
    console.log(require("path").dirname(found[0].manifest_path));
    console.log(found[0].executable);
  ' "$1"
}
say "OS keyring test (a private D-Bus session with an unlocked GNOME Keyring)"
paths=$(test_binary keyring)
mapfile -t keyring_test <<<"$paths"
keyring_home=$(mktemp -d)
XDG_DATA_HOME="$keyring_home" dbus-run-session -- bash -c '
  printf "keyring-test" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  cd "$1" && exec "$2" --ignored
' bash "${keyring_test[@]}"
rm -rf "$keyring_home"
say "UI end-to-end test (real app under Xvfb, via tauri-driver and WebKitWebDriver)"
paths=$(test_binary ui_e2e)
mapfile -t e2e_test <<<"$paths"
(cd "${e2e_test[0]}" && xvfb-run -a -s "-screen 0 1366x768x24" "${e2e_test[1]}" --ignored --nocapture)
say "All checks passed. Screenshots: target/e2e-screenshots/"
