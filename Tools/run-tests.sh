#!/usr/bin/env bash
# Runs the whole test suite: builds the package (including the output plugins) and runs XCTest.
# Tests that need servers (PulseAudio, JACK, D-Bus) start their own private instances.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
# XCTest only (the suites are XCTest; Swift Testing would print a second, empty summary).
status=0
swift test --skip-build --disable-swift-testing 2>&1 | tee .build/test-output.log || status=$?
# One plain closing line for tools that read it: "N passed, N failed".
summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with [0-9]+ failures?" .build/test-output.log | tail -1)
executed=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
failed=$(echo "$summary" | sed -E 's/.*with ([0-9]+) failures?.*/\1/')
if [ -n "$summary" ]; then echo "$((executed - failed)) passed, $failed failed"; fi
exit $status
