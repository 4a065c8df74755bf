#!/usr/bin/env bash
# The accuracy recipe's runs (issue 10), resumable: each trains into $RUNS_DIR/NAME (--resume, so a
# killed run continues where its last checkpoint was), then scores its LAST checkpoint on the
# held-out 300-W faces four ways (ground-truth / detector boxes, with / without test-time flip)
# and copies config, log and the four summaries to bench/results/recipe/NAME.
#
#   bench/recipe/run.sh NAME [THREADS]     train (or resume) + evaluate one run of the table below
#   bench/recipe/run.sh eval NAME          evaluate only
#   bench/recipe/run.sh list               the runs and their settings
#
# Environment: RUNS_DIR (default ../runs/recipe, outside the repository), DATA (default
# ../shared/data/300w/train), EXTRA (default ../shared/data/ytf68/train).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS_DIR=${RUNS_DIR:-../runs/recipe}
DATA=${DATA:-../shared/data/300w/train}
EXTRA=${EXTRA:-../shared/data/ytf68/train}
ACR=(node dist/cli/main.js)

# Shared by every run: the shipped model's split, seed and crop; the box jitter that covers the
# package detector's 95th percentile (bench/results/detector-jitter.json: shift 0.067, zoom 0.78-1.12).
COMMON=(--data "$DATA" --split-seed 0 --seed 0 --val-fraction 0.1 --margin 0.15 --batch-size 32 --lr 1e-3 --lr-schedule cosine)
JITTER=(--aug-scale 0.75,1.15 --aug-shift 0.08)
# MobileNetV1 from the detector's backbone at 160 px, and the 10-epoch tail started from a finished run.
V1FACE160=(--loss smoothl1 --arch mobilenetv1 --init face-detector --width 1.0 --input-size 160 "${JITTER[@]}")
TAIL=(--epochs 10 --warmup 1 --lr 1.5e-4 --lr-min 0.067 --dropout 0)

# name -> its own flags (cheap = x0.5 at 96 px, 40 epochs: the head ablation; long = x1.0 at 128 px;
# v1face / v1random: MobileNetV1 from the face detector's backbone / from random weights; -160: at 160 px;
# -gdconv: the global depthwise head instead of average pooling; -drop0: no dropout before the
# head (--dropout 0; the default is 0.2); -tail: 10 more epochs from that
# run's last checkpoint (--init-from), without dropout, lr 1.5e-4 cosine down to 1e-5: the same
# split, so still no held-out face seen); -noocc / -rot15: that tail without the occluding
# rectangle (--aug-occlusion 0) / with rotations up to 15 degrees instead of 30); -s1: the same
# run with --seed 1 (initialisation of the head, order, augmentation; the split stays).
settings() {
  case "$1" in
    cheap-gap) echo --loss smoothl1 --width 0.5 --input-size 96 --epochs 40 --head gap ;;
    cheap-multiscale) echo --loss smoothl1 --width 0.5 --input-size 96 --epochs 40 --head multiscale ;;
    long-300w) echo --loss smoothl1 --width 1.0 --input-size 128 --epochs "${EPOCHS:-130}" --warmup 3 --head gap "${JITTER[@]}" ;;
    long-300w-ytf) echo --loss smoothl1 --width 1.0 --input-size 128 --epochs "${EPOCHS:-65}" --warmup 2 --head gap "${JITTER[@]}" --extra-data "$EXTRA@0.5" ;;
    long-300w-v1face) echo --loss smoothl1 --arch mobilenetv1 --init face-detector --width 1.0 --input-size 128 --epochs "${EPOCHS:-130}" --warmup 3 --head gap "${JITTER[@]}" ;;
    long-300w-v1face-160) echo "${V1FACE160[@]}" --epochs "${EPOCHS:-120}" --warmup 3 --head gap ;;
    long-300w-v1face-160-gdconv) echo "${V1FACE160[@]}" --epochs "${EPOCHS:-120}" --warmup 3 --head gdconv ;;
    long-300w-v1face-160-drop0) echo "${V1FACE160[@]}" --epochs "${EPOCHS:-120}" --warmup 3 --head gap --dropout 0 ;;
    long-300w-v1face-160-gdconv-drop0) echo "${V1FACE160[@]}" --epochs "${EPOCHS:-120}" --warmup 3 --head gdconv --dropout 0 ;;
    long-300w-v1face-160-tail) echo "${V1FACE160[@]}" "${TAIL[@]}" --head gap --init-from "$RUNS_DIR/long-300w-v1face-160/checkpoints/latest" ;;
    long-300w-v1face-160-tail-dropout) echo "${V1FACE160[@]}" "${TAIL[@]}" --dropout 0.2 --head gap --init-from "$RUNS_DIR/long-300w-v1face-160/checkpoints/latest" ;;
    long-300w-v1face-160-gdconv-tail) echo "${V1FACE160[@]}" "${TAIL[@]}" --head gdconv --init-from "$RUNS_DIR/long-300w-v1face-160-gdconv/checkpoints/latest" ;;
    long-300w-v1face-160-gdconv-drop0-s1) echo "${V1FACE160[@]}" --epochs "${EPOCHS:-120}" --warmup 3 --head gdconv --dropout 0 --seed 1 ;;
    long-300w-v1face-160-gdconv-drop0-tail) echo "${V1FACE160[@]}" "${TAIL[@]}" --head gdconv --init-from "$RUNS_DIR/long-300w-v1face-160-gdconv-drop0/checkpoints/latest" ;;
    long-300w-v1face-160-gdconv-drop0-tail-noocc) echo "${V1FACE160[@]}" "${TAIL[@]}" --head gdconv --aug-occlusion 0 --init-from "$RUNS_DIR/long-300w-v1face-160-gdconv-drop0/checkpoints/latest" ;;
    long-300w-v1face-160-gdconv-drop0-tail-rot15) echo "${V1FACE160[@]}" "${TAIL[@]}" --head gdconv --aug-rotation 15 --init-from "$RUNS_DIR/long-300w-v1face-160-gdconv-drop0/checkpoints/latest" ;;
    long-300w-v1face-gdconv) echo --loss smoothl1 --arch mobilenetv1 --init face-detector --width 1.0 --input-size 128 --epochs "${EPOCHS:-130}" --warmup 3 --head gdconv "${JITTER[@]}" ;;
    long-300w-v1random) echo --loss smoothl1 --arch mobilenetv1 --init random --width 1.0 --input-size 128 --epochs "${EPOCHS:-130}" --warmup 3 --head gap "${JITTER[@]}" ;;
    long-300w-scale100) echo --loss smoothl1 --width 1.0 --input-size 128 --epochs "${EPOCHS:-130}" --warmup 3 --head gap "${JITTER[@]}" --loss-scale 100 ;;
    *) echo "unknown run '$1' (see: $0 list)" >&2; return 2 ;;
  esac
}

evaluate() {
  local name=$1 run="$RUNS_DIR/$1" res="bench/results/recipe/$1"
  mkdir -p "$res"
  # The detector's boxes of the validation faces are the same for every run: found once, then read.
  local cache="$RUNS_DIR/detector-boxes-val.json"
  for boxes in gt detector; do
    for flip in "" --no-flip; do
      local tag="eval-$boxes${flip:+-noflip}" source=$boxes
      [[ $boxes == detector && -f $cache ]] && source=$cache
      "${ACR[@]}" eval --run "$run" --checkpoint latest --boxes "$source" $flip --worst 0 --name "$name" --out "$run/$tag"
      [[ $source == detector ]] && cp "$run/$tag/boxes.json" "$cache"
      cp "$run/$tag/summary.json" "$res/$tag.json"
    done
  done
  cp "$run/config.json" "$run/log.jsonl" "$res/"
}

case "${1:-}" in
  list)
    for n in cheap-gap cheap-multiscale long-300w long-300w-ytf long-300w-scale100 long-300w-v1face long-300w-v1face-160 long-300w-v1face-160-tail long-300w-v1face-160-tail-dropout long-300w-v1face-gdconv long-300w-v1face-160-gdconv long-300w-v1face-160-gdconv-tail long-300w-v1face-160-drop0 long-300w-v1face-160-gdconv-drop0 long-300w-v1face-160-gdconv-drop0-s1 long-300w-v1face-160-gdconv-drop0-tail long-300w-v1face-160-gdconv-drop0-tail-noocc long-300w-v1face-160-gdconv-drop0-tail-rot15 long-300w-v1random; do echo "$n: $(settings "$n")"; done ;;
  eval)
    evaluate "$2" ;;
  ""|-h|--help)
    sed -n 2,13p "$0" | sed 's/^# \{0,1\}//' ;;
  *)
    name=$1
    flags=$(settings "$name")
    mkdir -p "$RUNS_DIR"
    # shellcheck disable=SC2086 # $flags is a word list by design
    "${ACR[@]}" train "${COMMON[@]}" $flags --out "$RUNS_DIR/$name" --threads "${2:-0}" --no-progress --resume
    evaluate "$name" ;;
esac
