#!/usr/bin/env bash
# Does a D-Bus client hammering muscapsd change its caption latency or make it drop audio? (issue 11)
# Usage: Tools/bench/dbus-load.sh [SECONDS] [RATE]   (needs pulseaudio, pulseaudio-utils, dbus-daemon, gdbus)
# A private PulseAudio null sink plays the demo clip in a loop; muscapsd (release, hop 1 s, shipped
# captioner, --output dbus) captures its monitor on a private session bus, twice for SECONDS (default 60):
#   quiet:  no client;
#   loaded: muscapsd-dbus-bench calls GetStatus and Properties.Get(LastCaption) alternately at RATE
#           calls/s (default 1000), each a blocking round trip, and reports their latency.
# Each run ends with GetStatus (window → event latency p50/p99 over the run, dropped audio) and prints
# one Markdown table row; the script prints the table kept in docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
rate=${2:-1000}
swift build -c release --product muscapsd >/dev/null
swift build -c release --product muscaps-plugin-dbus >/dev/null
swift build -c release --product muscapsd-dbus-bench >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
cleanup() {
  for pid in ${player:-} ${daemon:-} ${pa_pid:-} ${bus_pid:-}; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

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
cat > "$work/bus.conf" <<CONF
<busconfig><type>session</type><listen>unix:path=$work/bus</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy></busconfig>
CONF
dbus-daemon --config-file="$work/bus.conf" --nofork --nopidfile 2>/dev/null &
bus_pid=$!
export DBUS_SESSION_BUS_ADDRESS="unix:path=$work/bus"
for _ in $(seq 50); do [ -S "$work/bus" ] && break; sleep 0.1; done
( while true; do paplay --latency-msec=100 -d benchsink Examples/demo.wav; done ) &
player=$!

status_field() { echo "$1" | grep -oE "'$2': <[a-z0-9 ]*[0-9.e+-]+>" | grep -oE "[0-9.e+-]+>$" | tr -d '>'; }

run() { # $1 = quiet|loaded
  "$bin/muscapsd" --source pulse --output dbus --hop 1 >/dev/null 2>"$work/$1.err" &
  daemon=$!
  for _ in $(seq 300); do
    gdbus call --session --dest org.muscaps.Daemon1 --object-path /org/muscaps/Daemon1 --method org.muscaps.Daemon1.GetStatus >/dev/null 2>&1 && break
    sleep 0.1
  done
  local calls="—"
  if [ "$1" = loaded ]; then
    calls=$("$bin/muscapsd-dbus-bench" --rate "$rate" --seconds "$seconds")
  else
    for i in $(seq "$seconds"); do printf '\r%s: %d/%d s' "$1" "$i" "$seconds" >&2; sleep 1; done; echo >&2
  fi
  local status
  status=$(gdbus call --session --dest org.muscaps.Daemon1 --object-path /org/muscaps/Daemon1 --method org.muscaps.Daemon1.GetStatus)
  kill -TERM $daemon; wait $daemon || true; daemon=
  printf '| %s | %s | %.1f | %.1f | %s | %s |\n' "$1" "$(status_field "$status" windows)" \
    "$(status_field "$status" latency_p50_ms)" "$(status_field "$status" latency_p99_ms)" \
    "$(status_field "$status" dropped_audio_s)" "$calls"
}

echo "| run | windows | caption latency p50 (ms) | p99 (ms) | dropped audio (s) | D-Bus calls |"
echo "|---|---|---|---|---|---|"
run quiet
run loaded
