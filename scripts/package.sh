#!/usr/bin/env bash
# Builds the station's Debian package:
#   bash scripts/package.sh
# → target/release/bundle/deb/Enrollment Station_<version>_amd64.deb, holding
#   /usr/bin/enrollment-station  the desktop app (UI embedded)
#   /usr/bin/station             the technicians' CLI (provisioning, officers, self-tests, export)
#   /usr/bin/fprint-helper       the libfprint reader helper the app starts for USB readers
# a desktop entry, and under /usr/share/doc/enrollment-station/ the third-party notices (the
# FingerJetFX OSE acknowledgement and the minutiae crate's LGPL texts and COPYRIGHT.txt).
# Install it with `sudo apt install ./target/release/bundle/deb/*.deb`.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

bash scripts/setup.sh

say "Building the UI"
npm --prefix ui run build --silent

# Tauri ships extra binaries named for the target they run on, and installs them without it.
say "Building the CLI and the libfprint helper"
cargo build --release --locked -p station-cli --bin station
cargo build --release --locked -p station-hardware --features libfprint --bin fprint-helper
triple=$(rustc -vV | sed -n 's/^host: //p')
externals=target/externals
mkdir -p "$externals"
cp target/release/station "$externals/station-$triple"
cp target/release/fprint-helper "$externals/fprint-helper-$triple"

say "Building the app and its .deb"
ui/node_modules/.bin/tauri build --bundles deb --config '{
  "bundle": {
    "externalBin": ["../target/externals/station", "../target/externals/fprint-helper"],
    "linux": { "deb": {
      "depends": ["libfprint-2-2", "libsecret-tools"],
      "files": {
        "/usr/share/doc/enrollment-station/THIRD-PARTY-NOTICES.md": "../docs/third-party-notices.md",
        "/usr/share/doc/enrollment-station/minutiae-extractor/COPYRIGHT.txt": "../minutiae/COPYRIGHT.txt",
        "/usr/share/doc/enrollment-station/minutiae-extractor/COPYING.LESSER.txt": "../minutiae/COPYING.LESSER.txt",
        "/usr/share/doc/enrollment-station/minutiae-extractor/COPYING.txt": "../minutiae/COPYING.txt"
      }
    } }
  }
}'

deb=$(ls -t target/release/bundle/deb/*.deb | head -n 1)
say "Built $deb"
dpkg-deb --contents "$deb" | sed -E 's/^([^ ]+ +){5}//' | grep -E 'usr/bin/.|\.desktop$|usr/share/doc/enrollment-station/.'
