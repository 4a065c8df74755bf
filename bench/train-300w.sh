#!/usr/bin/env bash
# End-to-end training on the 300-W training faces (../shared/data/300w/train), in the
# background and resumable, then evaluation of the best checkpoint on the held-out faces.
#
#   bench/train-300w.sh measure   # images/s of candidate network sizes (bench/train-step.ts)
#   bench/train-300w.sh start     # start, or resume after stop/kill/reboot; output in $OUT/train.out
#   bench/train-300w.sh status    # running or not, last epochs from $OUT/log.jsonl
#   bench/train-300w.sh stop      # SIGINT: finishes the step, writes the checkpoint, exits 130
#   bench/train-300w.sh eval      # acr eval --run $OUT (also runs by itself when training completes)
#
# Settings (environment): LOSS=acr OUT=runs/300w-$LOSS EPOCHS=30 SIZE=96 WIDTH=0.5 BATCH=32 LR=1e-3
# SEED=0 VAL=0.1 WORKERS=1 LIMIT=0 (all faces) DATA=../shared/data/300w/train COMPARE=<other eval dirs, comma-separated>.
# Sizing (measured 2026-11-29 on the 2-core dev VM, shared with other jobs, native kernels, batch 32):
# a bare MobileNetV2 x0.5 step at 96 px runs ~26 images/s (x1.0 at 96: ~19, x0.5 at 128: ~16, x1.0 at
# 224: ~3; bench/train-step.ts); the whole pipeline (data, ACR, Adam) ran 18 images/s under load 17.
# 1,811 training faces = 56 steps an epoch = 70-100 s + ~5 s validation: 30 epochs take 40-55 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

LOSS=${LOSS:-acr}
OUT=${OUT:-runs/300w-$LOSS}
EPOCHS=${EPOCHS:-30}
SIZE=${SIZE:-96}
WIDTH=${WIDTH:-0.5}
BATCH=${BATCH:-32}
LR=${LR:-1e-3}
SEED=${SEED:-0}
VAL=${VAL:-0.1}
LIMIT=${LIMIT:-0}
WORKERS=${WORKERS:-1}
DATA=${DATA:-../shared/data/300w/train}
ACR=(node --import tsx lib/cli/main.ts)

running() { [[ -f "$OUT/pid" ]] && kill -0 "$(cat "$OUT/pid")" 2>/dev/null; }

case "${1:-}" in
  measure)
    nice node --import tsx bench/train-step.ts mobilenetv2:0.35:96:32 mobilenetv2:0.5:64:32 mobilenetv2:0.5:96:32 mobilenetv2:0.5:128:32 mobilenetv2:1.0:96:32
    ;;
  start)
    [[ -d "$DATA" ]] || { echo "no data folder: $DATA" >&2; exit 1; }
    if running; then echo "already running (pid $(cat "$OUT/pid")); see $OUT/train.out"; exit 0; fi
    mkdir -p "$OUT"
    train=("${ACR[@]}" train --data "$DATA" --out "$OUT" --loss "$LOSS" --epochs "$EPOCHS" --input-size "$SIZE"
      --width "$WIDTH" --batch-size "$BATCH" --lr "$LR" --seed "$SEED" --val-fraction "$VAL" --workers "$WORKERS" --limit "$LIMIT" --resume)
    evaluate=("${ACR[@]}" eval --run "$OUT" ${COMPARE:+--compare "$COMPARE"})
    # Own session (setsid), so 'stop' can signal the whole group and the run outlives this shell.
    setsid nohup bash -c "$(printf '%q ' "${train[@]}") && $(printf '%q ' "${evaluate[@]}")" >>"$OUT/train.out" 2>&1 </dev/null &
    echo $! >"$OUT/pid"
    echo "started (pid $!): $LOSS, MobileNetV2 x$WIDTH at ${SIZE}px, $EPOCHS epochs; tail -f $OUT/train.out"
    ;;
  status)
    if running; then echo "running (pid $(cat "$OUT/pid"))"; else echo "not running"; fi
    [[ -f "$OUT/log.jsonl" ]] && tail -n 5 "$OUT/log.jsonl"
    [[ -f "$OUT/eval/summary.json" ]] && cat "$OUT/eval/summary.json"
    ;;
  stop)
    if running; then kill -INT -- "-$(cat "$OUT/pid")"; echo "sent SIGINT; the checkpoint is written after the current step"; else echo "not running"; fi
    ;;
  eval)
    "${ACR[@]}" eval --run "$OUT" ${COMPARE:+--compare "$COMPARE"}
    ;;
  *)
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
    ;;
esac
