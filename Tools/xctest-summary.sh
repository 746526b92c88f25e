#!/usr/bin/env bash
# Prints the closing line of a test run, "N passed, N failed, N skipped", from XCTest's output
# (a file argument, or stdin). Counts each test's own result line
#   Test Case 'Suite.test' passed|failed|skipped (… seconds)
# for tests that XCTest announced as started, so it is right with skips (XCTest's suite lines then
# read "with K tests skipped and M failures", and M counts failed assertions, not tests), ignores
# look-alike lines a test printed itself, and counts a test that started but never finished (the
# test process crashed) as failed, naming it. Exit status 0; the caller decides on the run's status.
set -euo pipefail
awk '
    match($0, /Test Case \x27[^\x27]+\x27 started at /) {
        name = substr($0, RSTART + 11); name = substr(name, 1, index(name, "\x27") - 1)
        if (!(name in state)) { state[name] = "running"; order[++count] = name }
        next
    }
    match($0, /Test Case \x27[^\x27]+\x27 (passed|failed|skipped) \(/) {
        text = substr($0, RSTART + 11); name = substr(text, 1, index(text, "\x27") - 1)
        verb = substr(text, length(name) + 3); verb = substr(verb, 1, index(verb, " ") - 1)
        if (state[name] == "running") state[name] = verb
        else if (!(name in state)) delete state[name]   # printed by a test, not by XCTest
    }
    END {
        passed = failed = skipped = 0
        for (i = 1; i <= count; i++) {
            s = state[order[i]]
            if (s == "passed") passed++
            else if (s == "skipped") skipped++
            else {
                failed++
                if (s == "running") print "did not finish (the test process crashed or was killed): " order[i]
            }
        }
        printf "%d passed, %d failed, %d skipped\n", passed, failed, skipped
    }
' "${1:-/dev/stdin}"
