#!/usr/bin/env bash
# Create (or repair) the reference virtualenv for the development-only tools in Tools/.
# Idempotent: when the venv already has the pinned versions it only re-checks and exits.
#
#   Tools/setup-reference-venv.sh            # -> <repo>/.venv-ref  (gitignored by /.venv*/)
#   VENV=/some/where Tools/setup-reference-venv.sh
#   PYTHON=python3.11 Tools/setup-reference-venv.sh
#
# Needs Python 3.11 (what the pins were resolved for) and network access to PyPI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv-ref}"
PYTHON="${PYTHON:-python3}"
REQS="$ROOT/Tools/requirements-reference.txt"

check() {
    # Exit status 0 iff the venv is complete and has the expected versions.
    TF_USE_LEGACY_KERAS=1 TF_CPP_MIN_LOG_LEVEL=3 "$VENV/bin/python" - <<'PY' 2>/dev/null
import importlib.metadata as md
want = {"tensorflow": "2.21.0", "tf_keras": "2.21.0", "librosa": "0.11.0", "numpy": "1.26.4",
        "musicnn": "0.1.0", "safetensors": "0.8.0", "soundfile": "0.14.0"}
for name, version in want.items():
    got = md.version(name)
    assert got == version, f"{name} {got} != {version}"
import numpy, librosa, soundfile, safetensors.numpy, musicnn.configuration  # noqa: F401
import tensorflow as tf  # noqa: F401
import tf_keras  # noqa: F401
PY
}

if [ -x "$VENV/bin/python" ] && check; then
    echo "reference venv OK: $VENV"
    exit 0
fi

"$PYTHON" - <<'PY'
import sys
if sys.version_info[:2] != (3, 11):
    print(f"warning: pins were resolved on Python 3.11, this is {sys.version.split()[0]}", file=sys.stderr)
PY

if [ ! -x "$VENV/bin/python" ]; then
    echo "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi

# 1. Everything except musicnn, fully pinned (numpy 1.26.4 included).
"$VENV/bin/python" -m pip install --disable-pip-version-check -r "$REQS"
# 2. musicnn itself WITHOUT its dependencies: it pins numpy<1.17, which does not exist for 3.11.
#    (`pip check` reports "musicnn 0.1.0 requires numpy<1.17"; expected and harmless.)
"$VENV/bin/python" -m pip install --disable-pip-version-check --no-deps musicnn==0.1.0

if check; then
    echo "reference venv OK: $VENV"
    echo "use it with:  export TF_USE_LEGACY_KERAS=1; $VENV/bin/python ..."
else
    echo "reference venv check FAILED: $VENV" >&2
    exit 1
fi
