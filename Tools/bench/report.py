"""Formats the comparison written by compare_with_tensorflow.sh as a Markdown table (stdlib only)."""
import json
import os
import platform
import sys

work, minutes = sys.argv[1], sys.argv[2]


def last_line(path):
    with open(path) as handle:
        return [line for line in handle.read().splitlines() if line.strip()][-1]


swift_bench = json.load(open(os.path.join(work, "swift-bench.json")))
reference = json.loads(last_line(os.path.join(work, "reference.json")))
swift_wall, swift_rss = map(float, last_line(os.path.join(work, "swift.time")).split())
ref_wall, ref_rss = map(float, last_line(os.path.join(work, "reference.time")).split())

# Tag agreement: per-window taggram difference between the two implementations on this audio.
swift_windows = [json.loads(line) for line in open(os.path.join(work, "swift-tags.jsonl"))]
max_diff = 0.0
for window, ref_row in zip(swift_windows, reference["taggram"]):
    for tag, ref_p in zip(reference["tags"], ref_row):
        max_diff = max(max_diff, abs(window["tags"][tag] - ref_p))

audio = float(swift_bench["audio_seconds"])
ref_network_ms = reference["network_window_ms_median"]
swift_network_ms = float(swift_bench["window_ms_median"])
swift_throughput_ms = float(swift_bench["network_seconds"]) / int(swift_bench["windows"]) * 1000
rows = [
    ("end-to-end wall time (process start → exit)", f"{swift_wall:.2f} s", f"{ref_wall:.2f} s", ref_wall / swift_wall),
    ("real-time factor, end to end", f"{audio / swift_wall:.0f}×", f"{audio / ref_wall:.0f}×", ref_wall / swift_wall),
    ("decode + mel", f"{float(swift_bench['decode_seconds']) + float(swift_bench['mel_seconds']):.3f} s",
     f"{reference['preprocess_seconds']:.3f} s",
     reference["preprocess_seconds"] / (float(swift_bench["decode_seconds"]) + float(swift_bench["mel_seconds"]))),
    ("network, one window (median latency, 1 thread vs TF's 2)", f"{swift_network_ms:.1f} ms", f"{ref_network_ms:.1f} ms",
     ref_network_ms / swift_network_ms),
    ("network throughput per window (muscaps: 2 windows in parallel)", f"{swift_throughput_ms:.1f} ms", f"{ref_network_ms:.1f} ms",
     ref_network_ms / swift_throughput_ms),
    ("TensorFlow + musicnn import", "—", f"{reference['import_seconds']:.2f} s", float("nan")),
    ("peak RSS", f"{swift_rss / 1024:.0f} MB", f"{ref_rss / 1024:.0f} MB", ref_rss / swift_rss),
]
print(f"Audio: {minutes} min synthetic music ({audio:.0f} s, {swift_bench['windows']} windows), "
      f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}.\n")
print("| measure | muscaps (Swift) | musicnn (TensorFlow) | ratio (reference / Swift) |")
print("|---|---|---|---|")
for name, ours, theirs, ratio in rows:
    print(f"| {name} | {ours} | {theirs} | {'—' if ratio != ratio else f'{ratio:.1f}×'} |")
print(f"\nSwift steady state: {swift_bench['steady_state_allocations']} heap allocations over "
      f"{swift_bench['steady_state_windows']} windows after the first; median window {swift_bench['window_ms_median']} ms, "
      f"p90 {swift_bench['window_ms_p90']} ms; peak RSS of muscaps-bench {swift_bench['peak_rss_mb']} MB.")
print(f"Tag agreement on this audio: max |p_swift − p_tf| = {max_diff:.2e} over {len(swift_windows)} windows × 50 tags "
      f"(the JSON prints 4 significant digits).")
