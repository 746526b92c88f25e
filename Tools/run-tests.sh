#!/usr/bin/env bash
# Runs the whole test suite: builds the package (including the output plugins) and runs XCTest.
# Tests that need servers (PulseAudio, JACK, D-Bus) start their own private instances.
set -euo pipefail
cd "$(dirname "$0")/.."
# The closing line's parser, checked first on captured XCTest logs (a second, no-build check).
bash Tools/tests/xctest-summary-test.sh > /dev/null || { bash Tools/tests/xctest-summary-test.sh; exit 1; }
swift build --build-tests
# XCTest only (the suites are XCTest; Swift Testing would print a second, empty summary).
status=0
swift test --skip-build --disable-swift-testing 2>&1 | tee .build/test-output.log || status=$?
# One plain closing line for the whole run: "N passed, N failed, N skipped" (Tools/xctest-summary.sh).
bash Tools/xctest-summary.sh .build/test-output.log
exit $status
