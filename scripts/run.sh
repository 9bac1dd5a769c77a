#!/usr/bin/env bash
# Sets up everything, starts a local central server, provisions the station against it on the
# first run, and opens the desktop app: with the webcam and fingerprint reader it finds; without
# a reader it starts the simulated SBI device service (sbi-sim), whose slap reader (and face
# camera, when there is no webcam) the app then uses.
#   ENROLLMENT_DATA_DIR      where the server and station keep their data (default .station-data)
#   ENROLLMENT_SERVER_LISTEN address of the local server (default 127.0.0.1:8750)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

bash scripts/setup.sh

data=${ENROLLMENT_DATA_DIR:-$root/.station-data}
listen=${ENROLLMENT_SERVER_LISTEN:-127.0.0.1:8750}
# Demo data from a build before sealed station configurations (and pinned TLS) does not open
# with this one: keep it aside.
if [ -f "$data/station/station.json" ] && ! grep -q '"seal"' "$data/station/station.json"; then
  aside="$data.before-seals-$(date +%Y%m%d%H%M%S)"
  say "The demo data in $data predates sealed configurations; moved to $aside, starting afresh"
  mv "$data" "$aside"
fi
mkdir -p "$data"

say "Building the UI and the app"
npm --prefix ui run build --silent
# The same features as the test command (scripts/test.sh): a libfprint reader works, nothing is
# built twice.
cargo build --bins --features enrollment-station/custom-protocol,station-hardware/libfprint
bin=$root/target/debug

say "Starting the central server on https://$listen, its own TLS (log: $data/server.log)"
"$bin/enrollment-server" --data-dir "$data/server" serve --listen "$listen" >"$data/server.log" 2>&1 &
server_pid=$!
trap 'kill -TERM $server_pid 2>/dev/null || true; wait $server_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q "listening on" "$data/server.log" 2>/dev/null && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "error: the server did not start:" >&2
    cat "$data/server.log" >&2
    exit 1
  fi
  sleep 0.1
done

# The station's data is encrypted under a key kept in the OS keyring or, without one, sealed
# under a passphrase entered when the app starts. A real station's owner chooses the passphrase
# and keeps it nowhere on the machine; this demo writes it next to the demo account, outside the
# station's data directory, so a newcomer can unlock.
if [ ! -f "$data/station-passphrase.txt" ]; then
  (umask 077 && head -c 15 /dev/urandom | base64 | tr -d '/+=' >"$data/station-passphrase.txt")
fi
export STATION_PASSPHRASE_FILE="$data/station-passphrase.txt"
if [ ! -f "$data/station/station.json" ]; then
  say "Provisioning this station against the local server (first run only)"
  token=$("$bin/enrollment-server" --data-dir "$data/server" issue-token)
  # Secrets go in the environment: a command line is visible to every local user (ps).
  admin_password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  STATION_PROVISIONING_TOKEN=$token STATION_ADMIN_PASSWORD=$admin_password \
    "$bin/station" --data-dir "$data/station" provision --server "https://$listen" \
    --name "Demo station on $(hostname)" --admin admin --admin-name "Demo Administrator"
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  STATION_ADMIN_PASSWORD=$admin_password STATION_NEW_PASSWORD=$password "$bin/station" \
    --data-dir "$data/station" officer add --as admin officer --name "Demo Officer" --role officer
  (umask 077 && printf 'username: officer\npassword: %s\n\nadministrator: admin\npassword: %s\n' \
    "$password" "$admin_password" >"$data/officer-login.txt")
else
  say "Reusing the provisioned station in $data/station"
fi
unset STATION_PASSPHRASE_FILE
# `station provision` keeps the keys in this user's OS keyring when a Secret Service answers
# (a desktop session); otherwise the app asks for the passphrase at start.
if grep -q '"protection": "keyring"' "$data/station/keys/vault.json" 2>/dev/null; then
  say "The station's keys are in your OS keyring: the app opens without a passphrase."
else
  say "Unlock the station with the passphrase in $data/station-passphrase.txt:"
  cat "$data/station-passphrase.txt"
fi
say "Then log in with the demo account from $data/officer-login.txt:"
cat "$data/officer-login.txt"

# Devices: a webcam, an SBI reader or a libfprint reader is used when one is found. Without a
# real fingerprint reader, the simulated SBI device service stands in for one, over real HTTP.
sbi_pid=
if "$bin/station" devices list --json | grep -q '"kind": "fingerprint_reader"'; then
  say "Using the fingerprint reader found on this machine"
else
  say "No fingerprint reader found: starting the simulated SBI device service (log: $data/sbi-sim.log)"
  "$bin/sbi-sim" --ca-out "$data/sbi-provider.pem" >"$data/sbi-sim.log" 2>&1 &
  sbi_pid=$!
  trap 'kill -TERM $server_pid $sbi_pid 2>/dev/null || true; wait 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    grep -q "listening on" "$data/sbi-sim.log" 2>/dev/null && break
    sleep 0.1
  done
  # The station trusts the simulator's device provider, as it would a vendor's.
  export STATION_SBI_TRUST="$data/sbi-provider.pem"
fi

say "Opening the enrollment station"
if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  "$bin/enrollment-station" --data-dir "$data/station"
else
  echo "No display found: running the app under xvfb-run."
  xvfb-run -a -s "-screen 0 1366x768x24" "$bin/enrollment-station" --data-dir "$data/station"
fi
