#!/usr/bin/env bash
# Writes tests/data/torch_gpt_losses.txt: the first training losses libtorch
# 2.x computes for the char-GPT sample's model from ember's initial weights
# and batches (tests/gpt_sample_test.cpp, FirstLossesMatchLibtorchFromTheSameWeights).
# Needs the release build with torch2-bench (scripts/setup-torch2.sh, then
# scripts/build.sh release).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD:-build/release}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
EMBER_GPT_EXPORT_DIR="$dir" "$build/tests/ember-tests" --gtest_filter='GptSample.FirstLossesMatchLibtorchFromTheSameWeights' >/dev/null || true
OMP_NUM_THREADS=1 "$build/bench/torch2-bench" --gpt-match "$dir" > tests/data/torch_gpt_losses.txt
echo "wrote tests/data/torch_gpt_losses.txt ($(wc -l < tests/data/torch_gpt_losses.txt) losses, $(cat /opt/libtorch2/WHEEL 2>/dev/null || echo libtorch))"
