#!/usr/bin/env bash
# Runs the whole test suite: builds the package (including the output plugins) and runs XCTest.
# Tests that need servers (PulseAudio, JACK, D-Bus) start their own private instances.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test --skip-build 2>&1 | tee .build/test-output.log
