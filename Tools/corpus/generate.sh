#!/usr/bin/env bash
# Regenerate the captioned music corpus (see Tools/corpus/README.md).
#
#   bash Tools/corpus/generate.sh --out /work/corpus --clips 6000 --seed 1
#   bash Tools/corpus/generate.sh --out /work/corpus-small --clips 120 --seed 1
#   bash Tools/corpus/generate.sh --report DIR [--samples]   # statistics + integrity checks of a corpus
#   bash Tools/corpus/generate.sh --v2 --out /work/corpus-v2 --clips-per-style 40 --realism   # corpus v2
#   bash Tools/corpus/generate.sh --v2-realism --corpus v1=DIR --corpus v2=DIR --out DIR     # realism only
#
# Idempotent set-up: checks the Debian packages (installs the missing ones when run as root or with
# sudo), creates the venv (default <repo>/.venv-corpus, override with VENV=...) and installs the pinned
# requirements only when requirements.txt changed. Every other argument goes to the generator
# (python -m muscorpus.generate --help). Use `nice -n 10 bash Tools/corpus/generate.sh ...` on a
# shared machine.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${VENV:-$ROOT/.venv-corpus}"
PYTHON="${PYTHON:-python3}"

DEB_PACKAGES=(python3-venv fluidsynth fluid-soundfont-gm timgm6mb-soundfont sox openttd-openmsx planetblupi-music-midi)
MODE=v1
case "${1:-}" in
    --v2) MODE=v2; shift ;;
    --v2-realism) MODE=v2-realism; shift ;;
esac
if [[ $MODE != v1 ]]; then
    # corpus v2: MMA grooves, MuseScore_General, recorded drum kits (avldrums, Hydrogen), sonic-pi and LMMS
    # samples, Ogg re-encoding; apt-get (for the real-music tracks of the realism report)
    DEB_PACKAGES+=(mma musescore-general-soundfont avldrums.lv2-soundfont hydrogen-drumkits sonic-pi-samples
                   lmms-common vorbis-tools libfluidsynth3)
fi

missing=()
for p in "${DEB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "generate.sh: installing Debian packages: ${missing[*]}" >&2
    if [[ $(id -u) -eq 0 ]]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo); else
        echo "generate.sh: run as root or: apt-get install -y ${missing[*]}" >&2; exit 1; fi
    "${SUDO[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "generate.sh: creating $VENV" >&2
    "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.muscorpus-requirements.sha256"
want="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "generate.sh: installing pinned requirements into $VENV" >&2
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$HERE/requirements.txt"
    echo "$want" > "$stamp"
fi

if [[ $MODE != v1 ]]; then
    stamp2="$VENV/.muscorpus-requirements-v2.sha256"
    want2="$(sha256sum "$HERE/requirements-v2.txt" | cut -d' ' -f1)"
    if [[ ! -f "$stamp2" || "$(cat "$stamp2")" != "$want2" ]]; then
        echo "generate.sh: installing pinned v2 requirements into $VENV" >&2
        "$VENV/bin/pip" install -q --disable-pip-version-check -r "$HERE/requirements-v2.txt"
        echo "$want2" > "$stamp2"
    fi
fi

export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONHASHSEED=0
if [[ $MODE == v2 ]]; then
    exec "$VENV/bin/python" -m muscorpus.v2.generate "$@"
fi
if [[ $MODE == v2-realism ]]; then
    exec "$VENV/bin/python" -m muscorpus.v2.realism "$@"
fi
if [[ "${1:-}" == "--report" ]]; then
    shift
    exec "$VENV/bin/python" -m muscorpus.report "$@"
fi
exec "$VENV/bin/python" -m muscorpus.generate "$@"
