#!/usr/bin/env bash
# Installs what ember needs from Debian's packages, once: packages already
# present are skipped, and apt-get runs only when something is missing.
#   scripts/setup.sh          build and test dependencies
#   scripts/setup.sh --bench  also libtorch (the benchmark's reference)
set -euo pipefail

packages=(cmake ninja-build g++ ccache pkg-config libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
          libopenblas-openmp-dev libprotobuf-dev protobuf-compiler libdnnl-dev zlib1g-dev
          dataset-fashion-mnist fortunes openmpi-bin libopenmpi-dev)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(libtorch-dev)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: dependencies present"
