#!/usr/bin/env bash
# Harmonic CNN per-window cost: muscaps (Swift, OpenBLAS) vs the PyTorch reference (Tools/hcnn/reference.py),
# same seeded weights, same synthetic audio, same machine, one run. Prints the rows for docs/BENCHMARKS.md.
# Needs .venv-torch (Tools/hcnn/requirements.txt) and a release build: swift build -c release --product muscaps-bench
set -euo pipefail
cd "$(dirname "$0")/../.."
MINUTES=${MINUTES:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
py=.venv-torch/bin/python
bench=.build/release/muscaps-bench
"$py" Tools/hcnn/bench_reference.py --write-weights "$work/hcnn.safetensors"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "BLAS: $(ldd "$bench" | grep -o 'libopenblas[^ ]*' | head -1) ($(readlink -f "$(ldd "$bench" | awk '/libblas|libopenblas/ {print $3; exit}')" 2>/dev/null))"
for threads in 1 2; do
  swift_json=$("$bench" --extractor hcnn --weights "$work/hcnn.safetensors" --minutes "$MINUTES" --threads "$threads" --jobs 1 --write-audio "$work/audio.wav" --json)
  torch_json=$("$py" Tools/hcnn/bench_reference.py --audio "$work/audio.wav" --threads "$threads" --json)
  echo "threads=$threads swift: $swift_json"
  echo "threads=$threads torch: $torch_json"
done
