#!/usr/bin/env bash
# Measures muscapsd's cost and latency (issue 4, item 8) and prints the Markdown kept in docs/BENCHMARKS.md.
# Usage: Tools/bench/daemon_bench.sh [LIVE_SECONDS] [LONG_MINUTES]   (needs pulseaudio, pulseaudio-utils, bc)
#  1. live: a private PulseAudio null sink plays the demo clip in a loop for LIVE_SECONDS (default 120)
#     while muscapsd captures its monitor at hop 1 s: latency p50/p99 (newest captured sample of a
#     window → its event handed to the output queues), CPU share of one core, RSS.
#  2. long: LONG_MINUTES (default 60) of synthetic music through the file source as fast as possible:
#     RSS sampled every second must not grow.
set -euo pipefail
cd "$(dirname "$0")/../.."
live_seconds=${1:-120}
long_minutes=${2:-60}
swift build -c release >/dev/null
bin=.build/release
work=$(mktemp -d)
cleanup() { [ -n "${pa_pid:-}" ] && kill "$pa_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
ticks=$(getconf CLK_TCK)

cpu_seconds() { awk -v t="$ticks" '{ print ($14 + $15) / t }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# --- 1. live capture through PulseAudio ---
mkdir -p "$work/home" "$work/run"; chmod 700 "$work/home" "$work/run"
cat > "$work/custom.pa" <<PA
load-module module-null-sink sink_name=benchsink rate=48000 channels=2
load-module module-native-protocol-unix socket=$work/native auth-anonymous=1
set-default-sink benchsink
set-default-source benchsink.monitor
PA
export HOME="$work/home" XDG_RUNTIME_DIR="$work/run" PULSE_SERVER="unix:$work/native"
pulseaudio -n -F "$work/custom.pa" --exit-idle-time=-1 --daemonize=no --use-pid-file=no >"$work/pa.log" 2>&1 &
pa_pid=$!
for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
"$bin/muscapsd" --source pulse --output stdout:json --hop 1 >"$work/live.jsonl" 2>"$work/live.err" &
daemon=$!
sleep 3
( end=$((SECONDS + live_seconds)); while [ $SECONDS -lt $end ]; do paplay --latency-msec=100 -d benchsink Examples/demo.wav; done ) &
player=$!
cpu0=$(cpu_seconds $daemon); t0=$(date +%s.%N); max_rss=0
for _ in $(seq "$live_seconds"); do sleep 1; r=$(rss_kb $daemon); [ "$r" -gt "$max_rss" ] && max_rss=$r; done
cpu1=$(cpu_seconds $daemon); t1=$(date +%s.%N)
kill $player 2>/dev/null || true; wait $player 2>/dev/null || true
kill -TERM $daemon; wait $daemon
summary=$(grep summary "$work/live.err" | tail -1)
field() { echo " $summary" | grep -oE " $1=[0-9.]+" | head -1 | cut -d= -f2; }
cpu_share=$(echo "($cpu1 - $cpu0) / ($t1 - $t0) * 100" | bc -l)

# --- 2. a long stream through the file source, as fast as possible ---
"$bin/muscaps-bench" --minutes "$long_minutes" --write-audio "$work/long.wav" --json >/dev/null
"$bin/muscapsd" --source "file:$work/long.wav" --output stdout:json --hop 1 >"$work/long.jsonl" 2>"$work/long.err" &
daemon=$!
samples="$work/rss.txt"; : > "$samples"; l0=$(date +%s.%N)
while kill -0 $daemon 2>/dev/null; do rss_kb $daemon >> "$samples" 2>/dev/null || true; sleep 1; done
wait $daemon || true
l1=$(date +%s.%N)
long_summary=$(grep summary "$work/long.err" | tail -1)
windows=$(echo " $long_summary" | grep -oE " windows=[0-9]+" | head -1 | cut -d= -f2)
n=$(wc -l < "$samples"); q=$(( n / 4 > 0 ? n / 4 : 1 ))
first_quarter=$(head -n "$q" "$samples" | sort -n | tail -1)
last_quarter=$(tail -n "$q" "$samples" | sort -n | tail -1)
peak=$(sort -n "$samples" | tail -1)

cat <<MD
Live capture: PulseAudio null-sink monitor, the demo clip played in a loop for ${live_seconds} s, hop 1 s, tags and
captions ($(grep -m1 -o '"model": "[^"]*"' "$work/live.jsonl" | cut -d'"' -f4), the daemon's defaults), stdout:json output, release build; $(nproc) cores;
$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); BLAS: $("$bin/muscapsd" --version | sed -n 's/^BLAS: //p');
load average at the end $(cut -d' ' -f1-3 /proc/loadavg).

| measure | value | target |
|---|---|---|
| windows analysed | $(field windows) ($(field silent) silent, $(field dropped_windows) dropped) | — |
| latency p50 (newest captured sample of a window → event handed to the outputs) | $(field latency_ms_p50) ms | — |
| latency p99 | $(field latency_ms_p99) ms | < 50 ms |
| latency max | $(field latency_ms_max) ms | — |
| CPU, share of one core | $(printf "%.1f" "$cpu_share") % | < 10 % |
| peak RSS while capturing | $((max_rss / 1024)) MB | < 200 MB |
| capture overruns | $(field overrun_frames) frames | 0 |

Long run: ${long_minutes} min of synthetic music through \`file:\` as fast as possible ($(printf "%.0f" "$(echo "$l1 - $l0" | bc -l)") s wall,
${windows} windows at hop 1 s), RSS sampled every second: peak in the first quarter ${first_quarter} kB, in the last
quarter ${last_quarter} kB, overall peak ${peak} kB.
MD
