#!/usr/bin/env bash
# The test suite against DJL's CUDA build of libtorch (Maven profile `cuda`), also on a machine
# without a GPU: CI runs it after the CPU suite. `mvn -Pcuda` downloads pytorch-native-cu124 once
# (2.4 GB into ~/.m2) and unpacks it once per machine (4.2 GB, README "GPU").
#
# Without an NVIDIA driver the CUDA build cannot even be loaded (libcaffe2_nvrtc.so links
# libcuda.so.1), so this script builds a TEST-ONLY stand-in driver from
# scripts/cuda-driver-stub/cuda_driver_stub.c into a temporary folder and puts it on
# LD_LIBRARY_PATH for this run only. On a machine with a real driver the stub is not used.
# Arguments go to Maven (e.g. -pl djl-fused-stage -Dtest=EngineBuildTest).
set -euo pipefail
cd "$(dirname "$0")/.."
export DJL_OFFLINE=true OPT_OUT_TRACKING=true

if /sbin/ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
  echo "test-cuda-build: using this machine's NVIDIA driver" >&2
else
  stub=$(mktemp -d)
  trap 'rm -rf "$stub"' EXIT
  gcc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$stub/libcuda.so.1" scripts/cuda-driver-stub/cuda_driver_stub.c
  export LD_LIBRARY_PATH="$stub${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "test-cuda-build: no NVIDIA driver here; using the test-only driver stub (0 GPUs)" >&2
fi
mvn -B -Pcuda test "$@"
