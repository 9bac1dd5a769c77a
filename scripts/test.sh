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
test_binaries() {
  # Prints "folder executable" for each test binary of the build above whose target is named
  # $1, or with $1 = --package NAME, for every test binary of that package.
  cargo test --workspace "${features[@]}" --no-run --message-format=json | node -e '
    const [how, name] = process.argv.slice(1);
    const found = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean)
      .map((line) => JSON.parse(line))
      .filter((m) => m.reason === "compiler-artifact" && m.executable && m.profile.test &&
        (how === "--package" ? m.package_id.includes(`#${name}@`) || m.package_id.startsWith(`${name} `)
                             : m.target.name === how && m.target.kind.includes("test")));
    if (found.length === 0 || (how !== "--package" && found.length !== 1)) {
      console.error(`expected test binaries for ${process.argv.slice(1).join(" ")}, found ${found.length}`);
      process.exit(1);
    }
    for (const m of found) console.log(require("path").dirname(m.manifest_path) + " " + m.executable);
  ' -- "$@"
}
say "OS keyring test (a private D-Bus session with an unlocked GNOME Keyring)"
read -r -a keyring_test <<<"$(test_binaries keyring)"
keyring_home=$(mktemp -d)
XDG_DATA_HOME="$keyring_home" dbus-run-session -- bash -c '
  printf "keyring-test" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  cd "$1" && exec "$2" --ignored
' bash "${keyring_test[@]}"
rm -rf "$keyring_home"
say "UI end-to-end test (real app under Xvfb, via tauri-driver and WebKitWebDriver)"
read -r -a e2e_test <<<"$(test_binaries ui_e2e)"
(cd "${e2e_test[0]}" && xvfb-run -a -s "-screen 0 1366x768x24" "${e2e_test[1]}" --ignored --nocapture)

say "Scale-out backend: a real PostgreSQL and a real S3 server (Garage)"
services=$(mktemp -d)
trap 'bash scripts/services.sh stop "$services"; rm -rf "$services"' EXIT
bash scripts/services.sh start "$services"
set -a; . "$services/env"; set +a
export ENROLLMENT_SERVER_TEST_BACKEND=scaled
say "The server's tests and the system tests again, on PostgreSQL and S3"
# The binaries the build above made, run again with the scale-out backend chosen; the
# scale-out tests (replicas, the database or bucket stopped; ignored by a plain `cargo test`)
# run here, one at a time: they stop the servers the others use.
for package in enrollment-server system-tests; do
  mapfile -t binaries <<<"$(test_binaries --package "$package")"
  for line in "${binaries[@]}"; do
    read -r folder binary <<<"$line"
    (cd "$folder" && "$binary" -q </dev/null)
  done
done
read -r -a scale_out_test <<<"$(test_binaries scale_out)"
(cd "${scale_out_test[0]}" && "${scale_out_test[1]}" --ignored --nocapture --test-threads=1)
say "All checks passed. Screenshots: target/e2e-screenshots/"
