#!/usr/bin/env bash
# Sets up, builds and runs every test: scripts/test.sh [preset] (release by default; asan for
# AddressSanitizer + UndefinedBehaviorSanitizer).
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
scripts/setup.sh
scripts/build.sh "$preset"
ctest --preset "$preset" -j "$(nproc)"
