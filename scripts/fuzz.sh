#!/usr/bin/env bash
# Fuzzes the packet reader and the payload reader with cargo fuzz (libFuzzer), each for a bounded
# time, seeded with the packet format's test vectors. Exits non-zero on the first crash; the
# crashing input is left under fuzz/artifacts/<target>/.
#
#   FUZZ_SECONDS   seconds per target (default 120)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-120}
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if ! cargo fuzz --version >/dev/null 2>&1; then
  say "Installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
# libFuzzer's address sanitizer needs a nightly compiler; with only stable, fuzz without it
# (coverage-guided all the same; RUSTC_BOOTSTRAP lets stable accept the flags cargo fuzz passes).
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  toolchain=(+nightly) sanitizer=address
else
  toolchain=() sanitizer=none
  export RUSTC_BOOTSTRAP=1
fi

say "Seeding the corpus from protocol/tests/vectors/packet-v1.json"
mkdir -p fuzz/corpus/packet_reader fuzz/corpus/payload_reader
python3 - <<'PY'
import base64, json, hashlib, pathlib
vectors = json.loads(pathlib.Path("protocol/tests/vectors/packet-v1.json").read_text())
packets = [vectors["packet"]] + [v["packet"] for v in vectors["invalid"]]
for text in packets:
    data = base64.b64decode(text)
    pathlib.Path("fuzz/corpus/packet_reader", hashlib.sha256(data).hexdigest()[:16]).write_bytes(data)
# A well-formed payload built from the vector's parts, in the payload layout.
payload = len(vectors["parts"]).to_bytes(2, "big")
for part in vectors["parts"]:
    name, data = part["name"].encode(), base64.b64decode(part["bytes"])
    payload += bytes([len(name)]) + name + len(data).to_bytes(4, "big") + data
pathlib.Path("fuzz/corpus/payload_reader/vector").write_bytes(payload)
PY

for target in packet_reader payload_reader; do
  say "Fuzzing $target for ${seconds}s (sanitizer: $sanitizer)"
  cargo "${toolchain[@]}" fuzz run --sanitizer "$sanitizer" "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 2>&1 | tee "fuzz/$target.log" | grep -E '^#|Done|ERROR|panicked' | tail -n 5
  status=${PIPESTATUS[0]}
  if [ "$status" -ne 0 ]; then
    echo "fuzzing $target found a crash; see fuzz/$target.log and fuzz/artifacts/$target/" >&2
    exit "$status"
  fi
done
say "No crash found"
