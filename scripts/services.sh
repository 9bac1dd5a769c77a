#!/usr/bin/env bash
# Starts and stops the real servers the scale-out backend's tests run against: a PostgreSQL
# cluster (Debian's postgresql package) and a single-node Garage S3 server (installed by
# `scripts/setup.sh --test`), both on loopback, with their data under DIR.
#   scripts/services.sh start DIR   starts both; writes DIR/env (variables for the tests)
#   scripts/services.sh stop DIR    stops both
# PostgreSQL refuses to run as root: as root, its cluster is made and run as the `postgres`
# user the package creates.
set -euo pipefail
command=${1:?usage: services.sh start|stop DIR}
dir=${2:?usage: services.sh start|stop DIR}
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
garage=$(command -v garage || echo "${CARGO_HOME:-$HOME/.cargo}/bin/garage")
as_pg=()
[ "$(id -u)" -eq 0 ] && as_pg=(runuser -u postgres --)

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "$command" in
start)
  [ -x "$pg_bin/initdb" ] || { echo "error: PostgreSQL is not installed (run scripts/setup.sh --test)" >&2; exit 1; }
  [ -x "$garage" ] || { echo "error: Garage is not installed (run scripts/setup.sh --test)" >&2; exit 1; }
  mkdir -p "$dir/pg" "$dir/garage"
  chmod 755 "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/pg"

  pg_port=$(free_port)
  say "Starting PostgreSQL on 127.0.0.1:$pg_port"
  "${as_pg[@]}" "$pg_bin/initdb" -D "$dir/pg/data" -A trust -U postgres --no-sync >"$dir/pg/initdb.log"
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=$dir/pg -c max_connections=400 -c fsync=off" \
    start >/dev/null

  s3_port=$(free_port); rpc_port=$(free_port); admin_port=$(free_port)
  say "Starting Garage (S3) on 127.0.0.1:$s3_port"
  cat >"$dir/garage/garage.toml" <<TOML
metadata_dir = "$dir/garage/meta"
data_dir = "$dir/garage/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc_port"
rpc_public_addr = "127.0.0.1:$rpc_port"
rpc_secret = "$(python3 -c 'import secrets; print(secrets.token_hex(32))')"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3_port"

[admin]
api_bind_addr = "127.0.0.1:$admin_port"
TOML
  access_key="GK$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
  secret_key=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
  GARAGE_DEFAULT_ACCESS_KEY=$access_key GARAGE_DEFAULT_SECRET_KEY=$secret_key \
    GARAGE_DEFAULT_BUCKET=enrollment RUST_LOG=warn \
    setsid "$garage" -c "$dir/garage/garage.toml" server --single-node --default-bucket \
    >"$dir/garage/server.log" 2>&1 &
  echo $! >"$dir/garage/pid"
  # Ready when the bucket answers an S3 request: an unsigned one is refused with 403, not a
  # refused connection.
  for _ in $(seq 1 120); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$s3_port/enrollment" || true)
    [ "$code" = 403 ] && break
    sleep 0.5
  done
  [ "${code:-}" = 403 ] || { echo "error: Garage did not start; see $dir/garage/server.log" >&2; cat "$dir/garage/server.log" >&2; exit 1; }

  cat >"$dir/env" <<ENV
ENROLLMENT_SERVER_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$pg_port/postgres
ENROLLMENT_SERVER_TEST_OBJECT_STORE=s3://enrollment
AWS_ENDPOINT=http://127.0.0.1:$s3_port
AWS_ALLOW_HTTP=true
AWS_REGION=garage
AWS_ACCESS_KEY_ID=$access_key
AWS_SECRET_ACCESS_KEY=$secret_key
ENV
  ;;
stop)
  if [ -f "$dir/garage/pid" ]; then
    kill "$(cat "$dir/garage/pid")" 2>/dev/null || true
    rm -f "$dir/garage/pid"
  fi
  if [ -f "$dir/pg/data/postmaster.pid" ]; then
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$dir/pg/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  ;;
*)
  echo "usage: services.sh start|stop DIR" >&2
  exit 2
  ;;
esac
