#!/usr/bin/env bash
# Tags the same synthetic audio with muscaps (Swift) and the TensorFlow musicnn reference, in one run on
# one machine, and prints the Markdown table recorded in docs/BENCHMARKS.md.
# Usage: Tools/bench/compare_with_tensorflow.sh [MINUTES]   (needs the reference venv: Tools/setup-reference-venv.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
minutes=${1:-2}
venv=${REFERENCE_VENV:-.venv-ref}
[ -x "$venv/bin/python" ] || { echo "no reference virtualenv at $venv: run Tools/setup-reference-venv.sh" >&2; exit 1; }

swift build -c release >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The audio both sides tag, and the Swift stage breakdown on it.
.build/release/muscaps-bench --minutes "$minutes" --write-audio "$work/bench.wav" --json > "$work/swift-synthetic.json"
.build/release/muscaps-bench --input "$work/bench.wav" --json > "$work/swift-bench.json"

# End to end, process start to exit, as a user runs each: wall seconds and peak RSS (KiB).
/usr/bin/time -f '%e %M' .build/release/muscaps tag "$work/bench.wav" --top 50 --json > "$work/swift-tags.jsonl" 2> "$work/swift.time"
/usr/bin/time -f '%e %M' "$venv/bin/python" Tools/bench/reference_tag.py "$work/bench.wav" > "$work/reference-e2e.json" 2> "$work/reference.time"
# Stage by stage, in a separate process so the end-to-end figure above carries no extra work.
"$venv/bin/python" Tools/bench/reference_tag.py "$work/bench.wav" --breakdown > "$work/reference.json" 2> /dev/null

python3 Tools/bench/report.py "$work" "$minutes"
