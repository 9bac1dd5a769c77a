#!/usr/bin/env bash
# Builds the central server's Debian package:
#   bash scripts/package-server.sh
# → target/release/enrollment-server_<version>_<arch>.deb, holding
#   /usr/bin/enrollment-server                        the server and its administration CLI
#   /lib/systemd/system/enrollment-server.service     a hardened unit: its own user, a read-only
#                                                     system, state in /var/lib/enrollment-server
#   /etc/enrollment-server/environment                its configuration (a conffile, 0640)
#   /usr/share/doc/enrollment-server/                 deploy.md, the third-party notices
# Install it with `sudo apt install ./target/release/enrollment-server_*.deb`; the service
# starts on the embedded default (127.0.0.1:8750) and docs/deploy.md says what to configure.
# For containers: server/packaging/Containerfile.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

say "Building enrollment-server (release)"
cargo build --release --locked -p enrollment-server --bin enrollment-server

version=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "enrollment-server"))')
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
chmod 755 "$stage"
trap 'rm -rf "$stage"' EXIT
say "Staging the package"
install -Dm755 --strip target/release/enrollment-server "$stage/usr/bin/enrollment-server"
install -Dm644 server/packaging/enrollment-server.service "$stage/lib/systemd/system/enrollment-server.service"
install -Dm640 server/packaging/environment "$stage/etc/enrollment-server/environment"
install -Dm644 docs/deploy.md "$stage/usr/share/doc/enrollment-server/deploy.md"
install -Dm644 docs/third-party-notices.md "$stage/usr/share/doc/enrollment-server/THIRD-PARTY-NOTICES.md"
mkdir -p "$stage/DEBIAN"
install -m755 server/packaging/postinst server/packaging/prerm server/packaging/postrm "$stage/DEBIAN/"
echo /etc/enrollment-server/environment >"$stage/DEBIAN/conffiles"
size=$(du -sk "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<CONTROL
Package: enrollment-server
Version: $version
Architecture: $arch
Maintainer: Enrollment Station developers <enrollment-station@localhost>
Installed-Size: $size
Depends: adduser, ca-certificates, libc6 (>= 2.36)
Section: net
Priority: optional
Description: Enrollment Station central server
 Receives the sealed enrollment packets (demographics, face, fingerprints) that
 registered enrollment stations sign and upload, checks and stores them, and
 answers with signed receipts. Runs on one machine with SQLite and files, or as
 any number of replicas on PostgreSQL and S3-compatible object storage.
CONTROL
out="target/release/enrollment-server_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$stage" "$out" >/dev/null
say "Built $out"
