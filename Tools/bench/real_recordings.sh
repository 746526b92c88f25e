#!/usr/bin/env bash
# Whole-process speed on real recordings, per OpenBLAS kernel choice, against the TensorFlow musicnn reference,
# and the per-window time against this machine's GEMM bound. Prints the Markdown kept in docs/BENCHMARKS.md.
#
# Usage: Tools/bench/real_recordings.sh [RUNS]          (RUNS: timed runs per Swift row, median quoted; default 3)
#   FILES="track-3min mix-30min" (default both), KERNELS="auto Haswell Prescott" (default all three),
#   HOUR=0 to skip the hour-of-audio row (default 1): for shorter runs on a busy machine.
# Needs: the reference venv (Tools/setup-reference-venv.sh; REFERENCE_VENV=… to point elsewhere), sox, a C
# compiler, apt-get (to fetch the recordings), and — for the BLAS comparison rows — libblis-dev and libdnnl-dev.
#
# The recordings are the three Ogg Vorbis tracks of Debian's lincity-ng-data package (GPL-2+ / CC-BY-SA 2.0:
# an electronic piece, a blues, an ambient piece; 9.4 min in all), fetched with `apt-get download` into
# .build/bench-audio (never committed). From them: "3 min" = the first 180 s of track 1; "30 min" = the three
# tracks in turn, repeated, cut at 1800 s; "60 min" likewise for the hour-of-audio row. 44.1 kHz stereo FLAC, so
# decoding and resampling are part of the run as for any user's file.
#
# Every Swift row names the OpenBLAS kernel it ran (`muscaps --version`); "nothing set" runs with
# OPENBLAS_CORETYPE removed from the environment, so no figure depends on a variable a user would not have set.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
venv=${REFERENCE_VENV:-.venv-ref}
[ -x "$venv/bin/python" ] || { echo "no reference virtualenv at $venv: run Tools/setup-reference-venv.sh" >&2; exit 1; }
swift build -c release >/dev/null
bin=.build/release
audio=.build/bench-audio
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- the recordings ---
if [ ! -f "$audio/mix-60min.flac" ]; then
  mkdir -p "$audio/deb"
  (cd "$audio/deb" && apt-get download lincity-ng-data >/dev/null)
  dpkg-deb -x "$audio"/deb/lincity-ng-data_*.deb "$audio/deb/x"
  mapfile -t tracks < <(ls "$audio"/deb/x/usr/share/games/lincity-ng/music/default/*.ogg)
  sox "${tracks[0]}" "$audio/track-3min.flac" trim 0 180
  loop=(); for _ in 1 2 3 4 5 6 7; do loop+=("${tracks[@]}"); done
  sox "${loop[@]}" "$audio/mix-30min.flac" trim 0 1800
  sox "${loop[@]}" "$audio/mix-60min.flac" trim 0 3600
  rm -rf "$audio/deb/x"
fi

# --- helpers ---
# time_median CMD…: runs it $runs times, prints "wall_median cpu_median peak_rss_kb" (GNU time; cpu = user + sys,
# which waiting for a core on a busy machine does not inflate).
time_median() {
  local i; : > "$work/times"
  for i in $(seq "$runs"); do
    /usr/bin/time -f '%e %U %S %M' -o "$work/t" "$@" > /dev/null 2> "$work/err" || { cat "$work/err" >&2; return 1; }
    cat "$work/t" >> "$work/times"
  done
  python3 - "$work/times" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
print(f"{statistics.median(r[0] for r in rows):.2f} {statistics.median(r[1] + r[2] for r in rows):.2f} {int(max(r[3] for r in rows))}")
PY
}
kernel_of() { env "$@" "$bin/muscaps" --version | sed -n 's/^BLAS: //p'; }
# The kernel choices: what a user gets with nothing set, then what OPENBLAS_CORETYPE forces.
choices=()
for kernel in ${KERNELS:-auto Haswell Prescott}; do
  if [ "$kernel" = auto ]; then choices+=("nothing set|-u OPENBLAS_CORETYPE")
  else choices+=("OPENBLAS_CORETYPE=$kernel|OPENBLAS_CORETYPE=$kernel"); fi
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
echo "CPU: $cpu, $(nproc) cores; flags: $(grep -m1 -o -w -E 'avx512f|avx512bw|avx512dq|avx512vl|avx2|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "Load average before: $load_before. Runs per Swift row: $runs (median); reference: 1 run per file."
echo

# --- 1. whole process, muscaps tag vs the reference ---
echo "| audio | program | kernel | wall s | CPU s | peak RSS MB | reference ÷ muscaps (wall) | (CPU) |"
echo "|---|---|---|---|---|---|---|---|"
for file in ${FILES:-track-3min mix-30min}; do
  path="$audio/$file.flac"
  read -r ref_wall ref_cpu ref_rss < <(runs=1 time_median "$venv/bin/python" Tools/bench/reference_tag.py "$path")
  echo "| $file | TensorFlow musicnn (reference) | oneDNN (TF's) | $ref_wall | $ref_cpu | $((ref_rss / 1024)) | 1.0× | 1.0× |"
  for choice in "${choices[@]}"; do
    label=${choice%%|*}; envargs=${choice#*|}
    # shellcheck disable=SC2086
    read -r wall cpu rss < <(time_median env $envargs "$bin/muscaps" tag "$path" --top 50 --json)
    # shellcheck disable=SC2086
    echo "| $file | muscaps tag ($label) | $(kernel_of $envargs | sed 's/, set by.*//; s/, chosen.*//; s/OpenBLAS [0-9.]*, //') | $wall | $cpu | $((rss / 1024)) | $(python3 -c "print(f'{$ref_wall / $wall:.1f}×')") | $(python3 -c "print(f'{$ref_cpu / $cpu:.1f}×')") |"
  done
done
echo

# --- 2. per window: muscaps-bench on the 3-minute recording vs the GEMM bound ---
cc -O2 -o "$work/gemm_shapes" Tools/bench/gemm_shapes.c -ldl -lpthread -lm
echo "Per window (muscaps-bench --input track-3min.flac; median of 59 windows after the first):"
echo
echo "| kernel | one window, 1 core (ms) | one window, 2 cores (ms, daemon path) | GEMM bound, 1 core (ms) | window ÷ bound |"
echo "|---|---|---|---|---|"
for choice in "${choices[@]}"; do
  label=${choice%%|*}; envargs=${choice#*|}
  # shellcheck disable=SC2086
  env $envargs "$bin/muscaps-bench" --input "$audio/track-3min.flac" --json > "$work/bench.json"
  # shellcheck disable=SC2086
  env $envargs "$work/gemm_shapes" 10 1 > "$work/gemm.txt"
  python3 - "$work/bench.json" "$work/gemm.txt" "$label" <<'PY'
import json, re, sys
bench = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
bound = float(re.search(r"OpenBLAS[^\n]*?GEMM bound ([0-9.]+) ms/window", text).group(1))
window = float(bench["window_ms_median"])
split = bench.get("window_ms_median_2_cores")
print(f"| {sys.argv[3]}: {bench['blas_kernel'].split(', ')[1]} | {window:.1f} | {split if split is not None else '—'} | {bound:.1f} | {window / bound:.2f}× |")
PY
done
echo
echo "GEMM bound = musicnn's FLOPs per window (2.797 GFLOP, its 45 GEMMs) ÷ the best 2048³ SGEMM rate of the same"
echo "kernel on one core, measured by CPU time (Tools/bench/gemm_shapes.c)."
echo

# --- 3. BLAS libraries on musicnn's own GEMM shapes (one window's 45 GEMMs, interleaved repetitions) ---
echo "BLAS libraries on musicnn's GEMM shapes, one core (CPU time per window; error vs float64):"
echo
echo '```'
env -u OPENBLAS_CORETYPE "$work/gemm_shapes" 30 1 | sed -n '3,$p'
echo '```'
echo
echo "Two cores (one window, both cores: each library's own threading, and the row split the daemon uses):"
echo
echo '```'
env -u OPENBLAS_CORETYPE "$work/gemm_shapes" 30 2 | sed -n '3,/^$/p'
echo '```'
echo

# --- 4. an hour of audio, tagged and captioned (nothing set) ---
if [ "${HOUR:-1}" = 1 ]; then
read -r tag_wall _ tag_rss < <(runs=1 time_median env -u OPENBLAS_CORETYPE "$bin/muscaps" tag "$audio/mix-60min.flac" --json)
read -r cap_wall _ cap_rss < <(runs=1 time_median env -u OPENBLAS_CORETYPE "$bin/muscaps" caption "$audio/mix-60min.flac" --every 10 --json)
echo "An hour of audio (mix-60min.flac, nothing set): \`muscaps tag\` ${tag_wall} s (peak $((tag_rss / 1024)) MB),"
echo "\`muscaps caption --every 10\` (tags the windows and captions every 10 s) ${cap_wall} s (peak $((cap_rss / 1024)) MB)."
echo
fi
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)."
