#!/usr/bin/env bash
# Starts and stops the real servers the scale-out backend's tests run against: a PostgreSQL
# cluster (Debian's postgresql package) and a single-node Garage S3 server (installed by
# `scripts/setup.sh --test`), both on loopback, with their data under DIR.
#   scripts/services.sh start DIR   starts both; writes DIR/env (variables for the tests)
#   scripts/services.sh stop DIR    stops both
#   scripts/services.sh stop-db|start-db|stop-s3|start-s3 DIR   one of them (fault tests)
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

pg_start() {
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$(cat "$dir/pg/port") -c unix_socket_directories=$dir/pg -c max_connections=400 -c fsync=off -c ssl=on -c ssl_cert_file=$dir/pg/server.crt -c ssl_key_file=$dir/pg/server.key" \
    start >/dev/null
}

pg_stop() {
  if [ -f "$dir/pg/data/postmaster.pid" ]; then
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$dir/pg/data" -m immediate stop >/dev/null 2>&1 || true
  fi
}

garage_start() {
  # shellcheck disable=SC1091
  . "$dir/garage/credentials"
  GARAGE_DEFAULT_ACCESS_KEY=$access_key GARAGE_DEFAULT_SECRET_KEY=$secret_key \
    GARAGE_DEFAULT_BUCKET=enrollment RUST_LOG=warn \
    setsid "$garage" -c "$dir/garage/garage.toml" server --single-node --default-bucket \
    >>"$dir/garage/server.log" 2>&1 &
  echo $! >"$dir/garage/pid"
  # Ready when the bucket answers an S3 request: an unsigned one is refused with 403, not a
  # refused connection.
  local code=""
  for _ in $(seq 1 120); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(cat "$dir/garage/port")/enrollment" || true)
    [ "$code" = 403 ] && return 0
    sleep 0.5
  done
  echo "error: Garage did not start; see $dir/garage/server.log" >&2
  cat "$dir/garage/server.log" >&2
  exit 1
}

garage_stop() {
  if [ -f "$dir/garage/pid" ]; then
    local pid
    pid=$(cat "$dir/garage/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    rm -f "$dir/garage/pid"
  fi
}

case "$command" in
start)
  [ -x "$pg_bin/initdb" ] || { echo "error: PostgreSQL is not installed (run scripts/setup.sh --test)" >&2; exit 1; }
  [ -x "$garage" ] || { echo "error: Garage is not installed (run scripts/setup.sh --test)" >&2; exit 1; }
  mkdir -p "$dir/pg" "$dir/garage"
  chmod 755 "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/pg"

  free_port >"$dir/pg/port"
  say "Starting PostgreSQL on 127.0.0.1:$(cat "$dir/pg/port")"
  "${as_pg[@]}" "$pg_bin/initdb" -D "$dir/pg/data" -A trust -U postgres --no-sync >"$dir/pg/initdb.log"
  # TLS for connections that ask for it: a throwaway CA (ca.pem, for the tests to trust) and a
  # certificate for 127.0.0.1 and localhost signed by it.
  (
    cd "$dir/pg"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
      -subj "/CN=enrollment test database CA" -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
      -extfile server.ext -out server.crt 2>/dev/null
    chmod 600 server.key ca.key
    [ "$(id -u)" -eq 0 ] && chown postgres: server.key server.crt
    true
  )
  pg_start

  s3_port=$(free_port); rpc_port=$(free_port); admin_port=$(free_port)
  echo "$s3_port" >"$dir/garage/port"
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
  cat >"$dir/garage/credentials" <<CREDENTIALS
access_key=GK$(python3 -c 'import secrets; print(secrets.token_hex(12))')
secret_key=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
CREDENTIALS
  chmod 600 "$dir/garage/credentials"
  garage_start
  # shellcheck disable=SC1091
  . "$dir/garage/credentials"

  cat >"$dir/env" <<ENV
ENROLLMENT_SERVER_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$(cat "$dir/pg/port")/postgres
ENROLLMENT_SERVER_TEST_DATABASE_CA=$dir/pg/ca.pem
ENROLLMENT_SERVER_TEST_OBJECT_STORE=s3://enrollment
ENROLLMENT_SERVER_TEST_SERVICES=$dir
AWS_ENDPOINT=http://127.0.0.1:$s3_port
AWS_ALLOW_HTTP=true
AWS_REGION=garage
AWS_ACCESS_KEY_ID=$access_key
AWS_SECRET_ACCESS_KEY=$secret_key
ENV
  ;;
stop)
  garage_stop
  pg_stop
  ;;
# One server at a time, for the fault tests: the same data, port and credentials again.
stop-db) pg_stop ;;
start-db) pg_start ;;
stop-s3) garage_stop ;;
start-s3) garage_start ;;
*)
  echo "usage: services.sh start|stop|stop-db|start-db|stop-s3|start-s3 DIR" >&2
  exit 2
  ;;
esac
