#!/usr/bin/env bash
# Cost model of `muscaps batch` (docs/BENCHMARKS.md, issue 15): CPU seconds per track for tag-only,
# caption and index runs on one core, against running the file-by-file commands once per track (the
# reference: what a user scripts without `batch`), and core-hours for 10^5 and 10^6 tracks.
#
#   swift build -c release && bash Tools/bench/batch_cost.sh [TRACKS] [SECONDS_PER_TRACK]
#
# Catalogue: TRACKS copies of SECONDS_PER_TRACK of synthetic music (`muscaps-bench --write-audio`),
# converted with sox to 44.1 kHz stereo FLAC as a music library stores them (so decoding and resampling
# are paid as in real use). Times are user+system CPU seconds from /usr/bin/time (single-core runs,
# --jobs 1), wall time for the two-core runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
tracks=${1:-8}
seconds=${2:-240}
bin=.build/release
for tool in muscaps muscaps-bench; do [ -x "$bin/$tool" ] || { echo "build first: swift build -c release" >&2; exit 1; }; done
work=$(mktemp -d /tmp/muscaps-batch-cost.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/music"
minutes=$(python3 -c "print($seconds / 60)")
"$bin/muscaps-bench" --minutes "$minutes" --write-audio "$work/base.wav" --json > /dev/null
for i in $(seq -w 1 "$tracks"); do sox "$work/base.wav" -r 44100 -c 2 "$work/music/track$i.flac"; done

# cpu MODE... : runs the command, prints "cpu_seconds wall_seconds peak_rss_kb"
measure() {
  /usr/bin/time -f "%U %S %e %M" -o "$work/time" "$@" > /dev/null 2> "$work/stderr" || { cat "$work/stderr" >&2; exit 1; }
  awk '{printf "%.2f %.2f %d\n", $1 + $2, $3, $4}' "$work/time"
}
# The same, summed over one process per track (the reference).
measure_each() {
  local total_cpu=0 total_wall=0 peak=0
  for file in "$work"/music/*.flac; do
    read -r cpu wall rss < <(measure "$@" "$file")
    total_cpu=$(python3 -c "print($total_cpu + $cpu)"); total_wall=$(python3 -c "print($total_wall + $wall)")
    [ "$rss" -gt "$peak" ] && peak=$rss
  done
  echo "$total_cpu $total_wall $peak"
}

declare -A tasks=([tag]="--summary --tags" [caption]="--caption" [index]="--features")
declare -A reference=([tag]="tag --summary --jobs 1" [caption]="caption --jobs 1" [index]="")
echo "| run | CPU s (1 core) | tracks/hour/core | audio-hours/hour/core | reference CPU s | reference / batch | wall, 2 cores (--jobs 2) | peak RSS | core-hours for 10^5 tracks | for 10^6 |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for mode in tag caption index; do
  rm -rf "$work/out"
  read -r cpu wall rss < <(measure "$bin/muscaps" batch "$work/music" --out "$work/out" --jobs 1 ${tasks[$mode]})
  rm -rf "$work/out2"
  read -r _ wall2 _ < <(measure "$bin/muscaps" batch "$work/music" --out "$work/out2" --jobs 2 ${tasks[$mode]})
  if [ -n "${reference[$mode]}" ]; then
    read -r rcpu _ _ < <(measure_each "$bin/muscaps" ${reference[$mode]})
  else
    # `muscaps index DIR` is itself a one-process batch over the folder.
    rm -f "$work/ref.idx" "$work/ref.idx.safetensors"
    read -r rcpu _ _ < <(measure "$bin/muscaps" index "$work/music" --out "$work/ref.idx" --jobs 1)
  fi
  python3 - "$mode" "$cpu" "$wall2" "$rss" "$rcpu" "$tracks" "$seconds" <<'PY'
import sys
mode, cpu, wall2, rss, rcpu, tracks, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
per_track = cpu / tracks
print(f"| {mode} | {cpu:.1f} | {3600 / per_track:.0f} | {3600 / per_track * seconds / 3600:.1f} | {rcpu:.1f} | {rcpu / cpu:.2f}× | {wall2:.1f} s | {rss / 1024:.0f} MB | {1e5 * per_track / 3600:.0f} | {1e6 * per_track / 3600:.0f} |")
PY
done
echo
echo "tracks: $tracks × ${seconds} s (44.1 kHz stereo FLAC); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
