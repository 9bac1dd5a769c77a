#!/usr/bin/env bash
# Refreshes the README's screenshots (docs/screenshots/) from the ones the UI end-to-end test
# writes to target/e2e-screenshots/ (run `bash scripts/test.sh` first).
set -euo pipefail
cd "$(dirname "$0")/.."
shots=target/e2e-screenshots
for name in 00a-setup 00-unlock 01-login 03-applicant 03b-applicant-wna-mrz 04a-face-live 05a-fingers-live 05b-exception 05c-retry \
  06-review 06b-receipt 07-offline 07a-held 07b-approvals 08-accepted 08b-list-indonesian 10-selftest-fault 11-settings 11b-accounts; do
  [ -f "$shots/$name.png" ] || { echo "error: $shots/$name.png is missing: run scripts/test.sh first" >&2; exit 1; }
  cp "$shots/$name.png" docs/screenshots/
done
echo "docs/screenshots/ refreshed from $shots"
