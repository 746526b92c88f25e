#!/usr/bin/env bash
# Measures caption sources on the real-music validation set (issue 10): fetches it (fetch.sh), extracts
# musicnn MTT and MSD features once (`muscaps prepare`), captions every track whole and every live
# excerpt (9 s at 25/50/75 % of the track, the daemon's 10 s context) and scores the captions against
# Tools/realmusic/labels.json (score.py). Prints the markdown tables of docs/RESULTS.md.
#
#   bash Tools/realmusic/measure.sh [SCRATCH] [OUT]   # defaults /tmp/muscaps-realmusic, runs/realmusic
#
# Environment: MODELS="name=path.safetensors ..." (default: the shipped model), CONSISTENT="mtt msd mtt,msd"
# (the tag-consistent decoding variants to run on every model), BONUS (default 4), THRESHOLD (default 0.15).
# The nearest-neighbour baseline is not run: it recalls captions of a prepared training corpus.
set -euo pipefail
cd "$(dirname "$0")/../.."
SCRATCH=${1:-/tmp/muscaps-realmusic}
OUT=${2:-runs/realmusic}
MUSCAPS=${MUSCAPS:-.build/release/muscaps}
read -r -a MODELS <<< "${MODELS:-shipped=Models/captioning/default.safetensors}"
read -r -a CONSISTENT <<< "${CONSISTENT:-mtt msd mtt,msd}"
BONUS=${BONUS:-4}
THRESHOLD=${THRESHOLD:-0.15}
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
  caption "$name, greedy" --model "$model" --beam 1
  for taggers in "${CONSISTENT[@]}"; do
    caption "$name + tag-consistent ($taggers)" --model "$model" --tag-consistent "$taggers" --tag-bonus "$BONUS" --tag-threshold "$THRESHOLD"
  done
done
for split in realmusic realmusic_live; do
  "$MUSCAPS" baseline tag-template "$DATASET" --split "$split" --no-meteor --no-spice --predictions "$OUT/tag-template.$split.json" > /dev/null
done
runs+=(--run "tag template, whole track=$OUT/tag-template.realmusic.json" --run "tag template, live 9 s=$OUT/tag-template.realmusic_live.json")
python3 Tools/realmusic/score.py "${runs[@]}" --json "$OUT/scores.json"
