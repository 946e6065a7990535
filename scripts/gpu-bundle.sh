#!/usr/bin/env bash
# Builds what a GPU run needs, here (the GPU machine has the CUDA toolkit and
# CMake but no package registry), and packs it with the shared libraries it
# links that the GPU machine lacks: build/gpu-bundle.tar.xz (git-ignored).
# Carry it to the GPU machine and run scripts/gpu-check.sh there:
#   device run: carry ["build/gpu-bundle.tar.xz"], command "bash scripts/gpu-check.sh"
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# No -march=native: the GPU machine's CPU is not this one.
cmake -S . -B build/gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DEMBER_NATIVE=OFF -DEMBER_CUDA=ON \
  -DEMBER_SAMPLES=OFF >/dev/null
cmake --build build/gpu --target ember ember-tests ember-bench ember-info
stage=build/gpu-stage
rm -rf "$stage" && mkdir -p "$stage/lib" "$stage/bin"
cp build/gpu/tests/ember-tests build/gpu/bench/ember-bench build/gpu/ember-info "$stage/bin/"
cp -L build/gpu/libember.so.0 "$stage/lib/"
# Libraries from Debian's packages; libc, libstdc++ and the CUDA libraries
# are the GPU machine's own.
for f in "$stage"/bin/* "$stage"/lib/libember.so.0; do
  ldd "$f" | awk '{print $3}' | grep -E 'libspdlog|libfmt|libopenblas|libgfortran|libquadmath|libprotobuf|libgomp|libz\.so|libdnnl|libOpenCL' || true
done | sort -u | while read -r lib; do cp -L "$lib" "$stage/lib/"; done
strip --strip-unneeded "$stage"/lib/* "$stage"/bin/* 2>/dev/null || true
# The benchmarks' data (the GPU machine has no Debian packages): the fortunes
# text for gpt_char (its regular files: 2.5 MB, about 1 MB packed), and with
# GPU_BUNDLE_FASHION_MNIST=1 Fashion-MNIST for mlp and cnn (30 MB that xz
# cannot shrink: mind the device tool's 64 MiB carry limit). ember-bench
# reports a workload whose data is missing and runs the others.
mkdir -p "$stage/data/fortunes"
find /usr/share/games/fortunes -maxdepth 1 -type f ! -name '*.dat' ! -name '*.u8' -exec cp {} "$stage/data/fortunes/" \;
if [[ "${GPU_BUNDLE_FASHION_MNIST:-0}" == 1 ]]; then
  mkdir -p "$stage/data/fashion-mnist"
  cp /usr/share/datasets/fashion-mnist/* "$stage/data/fashion-mnist/"
fi
tar -cJf build/gpu-bundle.tar.xz -C build gpu-stage
ls -la build/gpu-bundle.tar.xz
