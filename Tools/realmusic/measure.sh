#!/usr/bin/env bash
# Measures caption sources on the real-music validation set (issue 10): fetches it (fetch.sh), extracts
# musicnn MTT and MSD features once (`muscaps prepare`), captions every track whole and every live
# excerpt (9 s at 25/50/75 % of the track, the daemon's 10 s context) and scores the captions against
# Tools/realmusic/labels.json (score.py). Prints the markdown tables of docs/RESULTS.md.
#
#   bash Tools/realmusic/measure.sh [SCRATCH] [OUT]   # defaults /tmp/muscaps-realmusic, runs/realmusic
#
# Environment: MODELS="name=path.safetensors ..." (default: the shipped model), CONSISTENT="mtt msd mtt,msd"
# (the tag-consistent decoding variants to run on every model), BONUS (default 2), THRESHOLD (default 0.2),
# NN_DATASET (a prepared corpus whose train split the nearest-neighbour baseline recalls; skipped if empty).
set -euo pipefail
cd "$(dirname "$0")/../.."
SCRATCH=${1:-/tmp/muscaps-realmusic}
OUT=${2:-runs/realmusic}
MUSCAPS=${MUSCAPS:-.build/release/muscaps}
read -r -a MODELS <<< "${MODELS:-shipped=Models/captioning/default.safetensors}"
read -r -a CONSISTENT <<< "${CONSISTENT:-mtt msd mtt,msd}"
BONUS=${BONUS:-2}
THRESHOLD=${THRESHOLD:-0.2}
NN_DATASET=${NN_DATASET:-}
DATASET="$SCRATCH/dataset"
mkdir -p "$OUT"

bash Tools/realmusic/fetch.sh "$SCRATCH"
for extractor in musicnn-mtt musicnn-msd; do   # only new audio is analysed
  nice -n 10 "$MUSCAPS" prepare "$DATASET" --splits realmusic realmusic_live --extractor "$extractor" \
    --duplicates keep --min-seconds 5 --max-seconds 100000 --min-tokens 1
done

runs=()
caption() {   # name, then eval arguments
  local name=$1; shift
  for split in realmusic realmusic_live; do
    "$MUSCAPS" eval "$DATASET" --split "$split" --no-meteor --no-spice --threads 1 \
      --predictions "$OUT/$name.$split.json" "$@" > /dev/null
  done
  runs+=(--run "$name, whole track=$OUT/$name.realmusic.json" --run "$name, live 9 s=$OUT/$name.realmusic_live.json")
}
for entry in "${MODELS[@]}"; do
  name=${entry%%=*}; model=${entry#*=}
  caption "$name" --model "$model"
  for taggers in "${CONSISTENT[@]}"; do
    caption "$name + tag-consistent ($taggers)" --model "$model" --tag-consistent "$taggers" --tag-bonus "$BONUS" --tag-threshold "$THRESHOLD"
  done
done
for split in realmusic realmusic_live; do
  "$MUSCAPS" baseline tag-template "$DATASET" --split "$split" --no-meteor --no-spice --predictions "$OUT/tag-template.$split.json" > /dev/null
done
runs+=(--run "tag template, whole track=$OUT/tag-template.realmusic.json" --run "tag template, live 9 s=$OUT/tag-template.realmusic_live.json")
if [ -n "$NN_DATASET" ]; then
  # The nearest-neighbour baseline recalls a training caption: copy the real set's cache beside a corpus.
  for split in realmusic realmusic_live; do
    python3 - "$DATASET" "$NN_DATASET" "$split" <<'PY'
import json, os, shutil, sys
src, dst, split = sys.argv[1:]
shutil.copy(os.path.join(src, f"dataset_{split}.json"), os.path.join(dst, f"dataset_{split}.json"))
for extractor in ("musicnn-mtt",):
    a, b = os.path.join(src, "features", extractor), os.path.join(dst, "features", extractor)
    for name in os.listdir(a):
        if name.startswith("manifest_realmusic") or "%40" in name or not name.startswith("manifest"):
            if name.startswith("manifest_") and name != f"manifest_{split}.json":
                continue
            shutil.copy(os.path.join(a, name), os.path.join(b, name))
PY
    "$MUSCAPS" baseline nearest-neighbour "$NN_DATASET" --split "$split" --no-meteor --no-spice --predictions "$OUT/nearest-neighbour.$split.json" > /dev/null
  done
  runs+=(--run "nearest neighbour, whole track=$OUT/nearest-neighbour.realmusic.json" --run "nearest neighbour, live 9 s=$OUT/nearest-neighbour.realmusic_live.json")
fi
python3 Tools/realmusic/score.py "${runs[@]}" --json "$OUT/scores.json"
