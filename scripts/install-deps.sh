#!/usr/bin/env bash
# Installs, from Debian 12's own packages, whatever duban needs that is missing.
# Idempotent: with everything present it installs nothing and needs no network.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config ccache git
  protobuf-compiler libprotobuf-dev           # Protocol Buffers 3.21
  libgrpc++-dev protobuf-compiler-grpc        # gRPC 1.51 (C++ and the Python plugin)
  libabsl-dev                                 # Abseil 20220623
  librocksdb-dev                              # RocksDB 7.8
  libssl-dev openssl                          # SHA-256, token randomness
  libcli11-dev                                # command-line parsing (duband, dubanctl)
  nlohmann-json3-dev                          # dubanctl --json
  libspdlog-dev                               # server logging
  libcurl4-openssl-dev                        # webhook POSTs (libcurl)
  libjemalloc-dev                             # duband's allocator (jemalloc)
  libgtest-dev libgmock-dev libbenchmark-dev  # tests and benchmarks
  python3 python3-grpcio python3-protobuf     # the Python client and its test
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "install-deps: missing ${missing[*]}; run as root or install sudo" >&2
    exit 1
  fi
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
