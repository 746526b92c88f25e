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
# The numeric suites once more under OpenBLAS's AVX2 kernels: the run above used the kernels chosen from this
# CPU's features (AVX-512 where it has it) unless OPENBLAS_CORETYPE is set, and results must hold within the
# same tolerances under every kernel a user may get. BLASKernelTests checks that Haswell really was loaded.
# Its tests are renamed "Haswell.…" in the log, so the closing line counts both runs.
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
  echo "Numeric suites again with OPENBLAS_CORETYPE=Haswell"
  OPENBLAS_CORETYPE=Haswell swift test --skip-build --disable-swift-testing \
    --filter "BLASKernelTests|LayerTests|TrainingLayerTests|MelSpectrogramTests|MusicnnParityTests|PipelineParityTests|ModelParityTests" \
    2>&1 | sed "s/Test Case '/Test Case 'Haswell./" | tee .build/test-output-haswell.log || status=$?
  cat .build/test-output-haswell.log >> .build/test-output.log
fi
# One plain closing line for the whole run: "N passed, N failed, N skipped" (Tools/xctest-summary.sh).
bash Tools/xctest-summary.sh .build/test-output.log
exit $status
