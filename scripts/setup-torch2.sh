#!/usr/bin/env bash
# Unpacks the libtorch inside PyPI's newest `torch` wheel (2.x, MKL and
# oneDNN 3) into /opt/libtorch2, for the benchmark baseline that
# BENCHMARKS.md asks for ("Baselines"): the wheel is built for CUDA, so
# torch2-bench links libtorch_cpu.so and libc10.so directly (its CUDA
# libraries load from the CUDA toolkit). Needs pip and about 2 GB on disk
# while it runs; bench only, never a dependency of the library.
#   scripts/setup-torch2.sh [dest]   then   scripts/build.sh release (torch2-bench builds)
set -euo pipefail
dest="${1:-/opt/libtorch2}"
if [[ -f "$dest/lib/libtorch_cpu.so" ]]; then
  echo "setup-torch2: $dest present"
  exit 0
fi
pip=$(command -v pip3 || command -v pip || echo /opt/tfvenv/bin/pip)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$pip" download --no-deps --quiet torch -d "$tmp"
wheel=$(ls "$tmp"/torch-*.whl)
mkdir -p "$dest"
(cd "$tmp" && python3 -m zipfile -e "$wheel" unpacked >/dev/null)
cp -r "$tmp/unpacked/torch/lib" "$tmp/unpacked/torch/include" "$dest/"
basename "$wheel" >"$dest/WHEEL"
echo "setup-torch2: $(cat "$dest/WHEEL") unpacked into $dest"
