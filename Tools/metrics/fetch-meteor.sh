#!/usr/bin/env bash
# Installs the official METEOR 1.5 jar and its English paraphrase table where `muscaps score` and the
# METEOR parity test look for them: ${MUSCAPS_METEOR_DIR:-~/.local/share/muscaps/meteor}/meteor-1.5.jar and
# .../data/paraphrase-en.gz. They are taken from the pycocoevalcap 1.2 wheel on PyPI (the same files the
# golden fixtures were made with; checked by sha256), with `pip download` only: nothing is pip-installed.
# Idempotent: does nothing when both files are present with the right checksums. Needs python3 with pip.
set -euo pipefail

DEST="${MUSCAPS_METEOR_DIR:-$HOME/.local/share/muscaps/meteor}"
JAR_SHA256=1e57b4c72c0830ebe68558f1c799a624e96cbc1b6045c9f6330e26dcff6eafc2
PARAPHRASE_SHA256=c147ac7d2c91f2fbb3ad31e4b352235061eb83145e0434daf217ee9ca5975f48

ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }
# The stamp tells the METEOR parity test that this machine was set up to run METEOR: from then on the test
# fails (instead of skipping) when METEOR cannot run.
stamp() { echo "Tools/metrics/fetch-meteor.sh" > "$DEST/installed-by"; }

if ok "$DEST/meteor-1.5.jar" "$JAR_SHA256" && ok "$DEST/data/paraphrase-en.gz" "$PARAPHRASE_SHA256"; then
  stamp
  echo "fetch-meteor: METEOR 1.5 present in $DEST" >&2
  exit 0
fi

PYTHON="${PYTHON:-python3}"
"$PYTHON" -m pip --version >/dev/null 2>&1 || { echo "fetch-meteor: $PYTHON has no pip (apt-get install python3-pip)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "fetch-meteor: downloading the pycocoevalcap 1.2 wheel (~100 MB) for meteor-1.5.jar" >&2
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --dest "$work" pycocoevalcap==1.2
"$PYTHON" - "$work" <<'EOF'
import glob, sys, zipfile
work = sys.argv[1]
wheel = glob.glob(work + "/pycocoevalcap-1.2-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    for name, target in (("pycocoevalcap/meteor/meteor-1.5.jar", "meteor-1.5.jar"),
                         ("pycocoevalcap/meteor/data/paraphrase-en.gz", "paraphrase-en.gz")):
        with z.open(name) as src, open(work + "/" + target, "wb") as dst:
            dst.write(src.read())
EOF
ok "$work/meteor-1.5.jar" "$JAR_SHA256" || { echo "fetch-meteor: meteor-1.5.jar checksum mismatch" >&2; exit 1; }
ok "$work/paraphrase-en.gz" "$PARAPHRASE_SHA256" || { echo "fetch-meteor: paraphrase-en.gz checksum mismatch" >&2; exit 1; }
mkdir -p "$DEST/data"
mv "$work/meteor-1.5.jar" "$DEST/meteor-1.5.jar"
mv "$work/paraphrase-en.gz" "$DEST/data/paraphrase-en.gz"
stamp
echo "fetch-meteor: installed METEOR 1.5 in $DEST" >&2
