#!/usr/bin/env python3
"""Per-window cost of the PyTorch Harmonic CNN reference, for docs/BENCHMARKS.md (Tools/bench/hcnn_vs_torch.sh).

    .venv-torch/bin/python Tools/hcnn/bench_reference.py --write-weights W.safetensors      # seeded, converted
    .venv-torch/bin/python Tools/hcnn/bench_reference.py --audio A.wav --threads 1 [--json]

Times `model(x)` (the reference's forward: harmonic STFT, CNN, head; eval mode, no_grad) one 5 s window at
a time, batch 1, as the daemon runs it; the first window is a warm-up. Same seeded weights as the fixtures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "musicnn"))
sys.path.insert(0, str(HERE))
import convert_checkpoint as converter  # noqa: E402
import make_fixtures  # noqa: E402
import reference  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write-weights", type=Path, help="write the seeded checkpoint, converted, here and exit")
    parser.add_argument("--audio", type=Path)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    model = make_fixtures.seeded_model()
    if args.write_weights:
        with tempfile.TemporaryDirectory() as tmp:
            checkpoint = Path(tmp) / "best_model.pth"
            torch.save(model.state_dict(), checkpoint)
            tags = Path(tmp) / "tags.npy"
            np.save(tags, np.array(make_fixtures.MTT_TAGS))
            converter.convert(checkpoint, tags, args.write_weights, model_name="HCNN_random_seeded", source="seeded (benchmark)")
        return
    torch.set_num_threads(args.threads)
    samples = make_fixtures.read_wav(args.audio)
    windows = len(samples) // reference.WINDOW_SAMPLES
    times = []
    with torch.no_grad():
        for w in range(windows):
            x = torch.from_numpy(samples[w * reference.WINDOW_SAMPLES:(w + 1) * reference.WINDOW_SAMPLES]).unsqueeze(0)
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    steady = sorted(times[1:])
    result = {"threads": args.threads, "windows": windows, "torch": torch.__version__,
              "window_ms_median": round(1000 * statistics.median(steady), 2),
              "window_ms_p90": round(1000 * steady[int((len(steady) - 1) * 0.9)], 2)}
    print(json.dumps(result) if args.json else result)


if __name__ == "__main__":
    main()
