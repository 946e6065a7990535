#!/usr/bin/env bash
# ember's main job: set up, build, and run the sample program.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release ember-tour
exec build/release/samples/ember-tour "$@"
