#!/usr/bin/env bash
# Reproduces docs/RESULTS.md from nothing but this checkout (issue 5):
#   corpus → prepare → train (3 variants) → eval (greedy, beam 3, beam 5; test and held-out-soundfont)
#   → baselines → attribute accuracy → tables.
#
#   bash Tools/results/reproduce.sh                 # every stage (≈ 1 h corpus + ≈ 20 min prepare + training)
#   bash Tools/results/reproduce.sh eval report     # only the named stages
#
# Environment: CORPUS (default /work/corpus), RUNS (default runs/), EPOCHS, SEED, QUERIES (retrieval
# queries per split, default 100 as the paper), VARIANTS (default "early late attention late-crop late-seed1 late-seed2 late-msd"), SPLITS (default
# "val test test_shifted"). Stages are idempotent where that is cheap: the corpus is generated
# only when absent, `prepare` only extracts new audio, training resumes an interrupted run.
set -euo pipefail
cd "$(dirname "$0")/../.."
CORPUS=${CORPUS:-/work/corpus}
RUNS=${RUNS:-runs}
RUNS=$(mkdir -p "$RUNS" && cd "$RUNS" && pwd)   # absolute: some stages run from Tools/corpus
EPOCHS=${EPOCHS:-200}
SEED=${SEED:-0}
QUERIES=${QUERIES:-100}
# Runs: the paper's three variants on whole tracks and late fusion on random crops; late-seed1/2 repeat
# late fusion with seeds 1 and 2 to show the run-to-run spread.
read -r -a VARIANTS <<< "${VARIANTS:-early late attention late-crop late-seed1 late-seed2 late-msd}"
train_arguments() {   # the `muscaps train` options of a run name
  case "$1" in
    early|late|attention) echo "--variant $1 --seed $SEED" ;;
    late-crop) echo "--variant late --random-crop 1 --seed $SEED" ;;
    late-msd) echo "--variant late --extractor musicnn-msd --seed $SEED" ;;   # MSD-tagger features
    *-seed[0-9]*) echo "--variant ${1%-seed*} --seed ${1##*-seed}" ;;   # e.g. late-seed1: run-to-run spread
    *) echo "unknown run $1" >&2; exit 2 ;;
  esac
}
# val picks the shipped model (best val CIDEr-D); test and test_shifted are reported.
read -r -a SPLITS <<< "${SPLITS:-val test test_shifted}"
STAGES=("$@")
[ ${#STAGES[@]} -eq 0 ] && STAGES=(corpus build prepare train eval live baselines attributes report)
MUSCAPS=.build/release/muscaps
PY=${PYTHON:-python3}

want() { local s; for s in "${STAGES[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }
say() { printf '\n== %s\n' "$*" >&2; }

if want corpus && [ ! -f "$CORPUS/dataset_train.json" ]; then
  say "corpus → $CORPUS"
  bash Tools/corpus/generate.sh --out "$CORPUS" --clips 6000 --seed 1
fi
if want build; then
  say "build"
  swift build -c release --product muscaps
fi
if want prepare; then
  say "prepare (musicnn-mtt features; every caption kept: the corpus repeats captions on purpose)"
  "$MUSCAPS" prepare "$CORPUS" --splits train val test test_shifted --duplicates keep
  "$MUSCAPS" prepare "$CORPUS" --splits train val test test_shifted --duplicates keep --extractor musicnn-msd
fi
if want train; then
  # Two runs at a time, one BLAS thread each (faster on 2 cores than one run with 2 threads).
  for variant in "${VARIANTS[@]}"; do
    out="$RUNS/$variant"
    if [ -f "$out/last.safetensors" ]; then
      args=(--resume)   # continues an interrupted run; says "Nothing to do" for a finished one
    else
      read -r -a args <<< "$(train_arguments "$variant") --epochs $EPOCHS"
    fi
    say "train $variant → $out"
    "$MUSCAPS" train "$CORPUS" --out "$out" "${args[@]}" --threads 1 --quiet > "$RUNS/train-$variant.log" 2>&1 &
    # keep at most two trainings running
    while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
  done
  wait
fi
if want eval; then
  for split in "${SPLITS[@]}"; do
    mkdir -p "$RUNS/results/$split"
    for variant in "${VARIANTS[@]}"; do
      for beam in 1 3 5; do
        name="$variant-$([ $beam = 1 ] && echo greedy || echo beam$beam)"
        retrieval=(); [ $beam = 1 ] && [ "$split" != val ] && retrieval=(--retrieval --queries "$QUERIES")
        result="$RUNS/results/$split/$name.json"
        if [ "$result" -nt "$RUNS/$variant/best.safetensors" ]; then continue; fi   # already evaluated this model
        say "eval $name on $split"
        "$MUSCAPS" eval "$CORPUS" --split "$split" --model "$RUNS/$variant/best.safetensors" --beam $beam \
          "${retrieval[@]}" --threads 1 --out "$result"
      done
    done
  done
fi
if want live; then
  # Live captioning sees 10 s (3 chunks), not a whole clip: greedy captions of each clip's middle 3 chunks.
  for split in val test; do
    for variant in "${VARIANTS[@]}"; do
      result="$RUNS/results/$split/$variant-greedy-live3.json"
      if [ "$result" -nt "$RUNS/$variant/best.safetensors" ]; then continue; fi
      say "eval $variant greedy on $split, middle 3 chunks"
      "$MUSCAPS" eval "$CORPUS" --split "$split" --model "$RUNS/$variant/best.safetensors" --chunks 3 --threads 1 --out "$result"
    done
  done
fi
if want baselines; then
  for split in "${SPLITS[@]}"; do
    mkdir -p "$RUNS/results/$split"
    for baseline in tag-template nearest-neighbour; do
      say "baseline $baseline on $split"
      "$MUSCAPS" baseline "$baseline" "$CORPUS" --split "$split" --out "$RUNS/results/$split/$baseline.json"
    done
  done
fi
if want attributes; then
  for split in "${SPLITS[@]}"; do
    say "attribute accuracy on $split"
    (cd Tools/corpus && $PY -m muscorpus.attributes --dataset "$CORPUS" --split "$split" --references \
       --json "$RUNS/results/$split/references.attributes.json" > /dev/null)
    for f in "$RUNS/results/$split"/*.predictions.json; do
      (cd Tools/corpus && $PY -m muscorpus.attributes --dataset "$CORPUS" --split "$split" --predictions "$f" \
         --json "${f%.predictions.json}.attributes.json" > /dev/null)
    done
  done
fi
if want report; then
  say "tables → docs/results/ and docs/RESULTS.md"
  $PY Tools/results/make_tables.py --results "$RUNS/results" --out docs/results --into docs/RESULTS.md
  for run in "${VARIANTS[@]}"; do
    cp "$RUNS/$run/learning_curve.svg" "docs/results/$run-learning-curve.svg"
    cp "$RUNS/$run/training_log.csv" "docs/results/$run-training-log.csv"
  done
fi
