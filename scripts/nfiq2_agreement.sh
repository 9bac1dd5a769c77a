#!/usr/bin/env bash
# The station's finger score (NFIQ 2 in Rust, core/src/quality/nfiq2) against NIST's NFIQ 2.3
# (PyPI's nbis-py 0.1.3, in a private virtualenv under target/), on the simulator's prints and on
# any directories of real prints given (paths are written absolute, as the examples read them); then the station's score per simulated quality level
# (what the capture threshold means). Figures go in docs/benchmarks.md.
#
#   bash scripts/nfiq2_agreement.sh [SEEDS] [REAL_DIR...]
#
# SEEDS (default 30): simulator seeds, 28 prints each (good, middling, poor placement and five
# degradations at five strengths). Real prints must be 500 ppi greyscale images.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seeds=${1:-30}
case $seeds in
  ''|*[!0-9]*) echo "SEEDS must be a number (got '$seeds')" >&2; exit 2 ;;
esac
shift || true
venv=target/nfiq2-venv
if ! "$venv/bin/python" -c "import nbis" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q nbis-py==0.1.3
fi
out=$root/target/nfiq2-agreement
rm -rf "$out"
mkdir -p "$out/synthetic"
cargo run -q --release -p station-core --example quality_corpus -- "$out/synthetic" "$seeds"
"$venv/bin/python" scripts/nfiq2_reference.py "$out/synthetic.tsv" "$out/synthetic"
echo "== simulator, seeds 1-$seeds"
cargo run -q --release -p station-core --example nfiq2_agreement -- "$out/synthetic.tsv"
if [ "$#" -gt 0 ]; then
  real=()
  for dir in "$@"; do real+=("$(realpath "$dir")"); done
  "$venv/bin/python" scripts/nfiq2_reference.py "$out/real.tsv" "${real[@]}"
  echo "== real prints: $*"
  cargo run -q --release -p station-core --example nfiq2_agreement -- "$out/real.tsv"
  cargo run -q --release -p station-core --example finger_scores -- --real "$out/real.tsv"
else
  cargo run -q --release -p station-core --example finger_scores
fi
