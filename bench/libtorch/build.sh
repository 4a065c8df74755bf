#!/bin/sh
# Builds the libtorch peer of bench/train.ts when PyTorch's C++ API is installed
# (Debian: apt-get install libtorch-dev). Never part of the package build.
set -e
cd "$(dirname "$0")"
found=$(ls /usr/lib/*/cmake/Torch/TorchConfig.cmake /usr/share/cmake/Torch/TorchConfig.cmake 2>/dev/null | head -1)
if [ -z "$found" ] && [ -z "$Torch_DIR" ]; then
  echo "libtorch not found (apt-get install libtorch-dev, or set Torch_DIR): peer not built" >&2
  exit 0
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2
