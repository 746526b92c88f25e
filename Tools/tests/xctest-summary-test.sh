#!/usr/bin/env bash
# Checks Tools/xctest-summary.sh on real XCTest output captured from a small package (Swift 6.3.1,
# swift-corelibs-xctest): passing only; with a skip; with skips and a test failing two assertions;
# a test process that crashed mid-run. Each log also holds a look-alike result line a test printed.
# `SUMMARY=other-script bash …` checks another summariser the same way.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
summary="${SUMMARY:-$here/../xctest-summary.sh}"
failures=0
check() {
    local log="$1" expected="$2" got
    got=$(bash "$summary" "$here/xctest-logs/$log" | tail -1)
    if [ "$got" = "$expected" ]; then echo "ok   $log: $got"
    else echo "FAIL $log: expected '$expected', got '$got'"; failures=$((failures + 1)); fi
}
check passing.log            "3 passed, 0 failed, 0 skipped"
check skips.log              "6 passed, 0 failed, 1 skipped"
check skips-and-failures.log "4 passed, 1 failed, 2 skipped"
check crash.log              "2 passed, 1 failed, 0 skipped"
crashed=$(bash "$summary" "$here/xctest-logs/crash.log" | head -1)
if [ "$crashed" = "did not finish (the test process crashed or was killed): AllPassTests.testC" ]; then echo "ok   crash.log names the crashed test"
else echo "FAIL crash.log: the crashed test is not named: '$crashed'"; failures=$((failures + 1)); fi
exit $((failures > 0))
