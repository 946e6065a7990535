#!/usr/bin/env bash
# ember's main job: set up, build, and train the Fashion-MNIST MLP (3 epochs,
# Debian's dataset-fashion-mnist), printing its progress and test accuracy.
# Extra arguments go to the program (--help lists them).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release ember-fashion-mnist-mlp
exec build/release/samples/ember-fashion-mnist-mlp --epochs 3 "$@"
