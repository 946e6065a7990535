#!/usr/bin/env bash
# Makes a Python virtualenv with tensorflow-cpu from PyPI, outside the
# repository (default /opt/tfvenv), for the checkpoint interoperability test
# (tests/checkpoint_test.cpp runs tests/tf/check_ember_checkpoint.py with it)
# and for regenerating the fixture:
#   /opt/tfvenv/bin/python tests/tf/make_fixtures.py tests/data/tf_checkpoint
# TensorFlow is never a dependency of the library; without this venv the
# interoperability test skips, saying why.
set -euo pipefail
venv="${1:-/opt/tfvenv}"
if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c 'import tensorflow' 2>/dev/null; then
  echo "setup-tf: $venv already has TensorFlow"
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install -q tensorflow-cpu
"$venv/bin/python" -c 'import tensorflow as tf; print("setup-tf: TensorFlow", tf.__version__, "in", "'"$venv"'")'
