#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test
# (unit tests beside the code, end-to-end tests in tests/) through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc 2>/dev/null || echo 2)" --timeout 300
