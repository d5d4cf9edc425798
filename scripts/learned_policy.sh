#!/usr/bin/env bash
# The learned-policy recipe, end to end: corpus -> tokenizer and model -> CE and DCO_step
# trainings at equal steps on equal data -> expert iteration -> the held-out benchmark.
#
#   bash scripts/learned_policy.sh SIZE OUT
#
# SIZE: tiny (CI: seconds of training, a handful of theorems), cpu (this project's 2-core
# machines: the 1.1M-parameter model the measured runs use, about 15 min of training each),
# gpu (one GPU, bf16: the larger model, each training a few minutes). The corpus is read from $CORPUS (default OUT/corpus), traced there
# first if it is missing (`prover trace`; for tiny, one stdlib module). Training reads only the
# corpus's random-split train pairs and, in expert iteration, coqlib train theorems and
# MiniF2F-Coq valid; the benchmark measures on coqlib test and MiniF2F-Coq test.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE="${1:?usage: learned_policy.sh tiny|cpu|gpu OUT}"
OUT="${2:?usage: learned_policy.sh tiny|cpu|gpu OUT}"
# The commands may be given as words (PROVER="python -m prover.cli").
read -r -a PROVER <<< "${PROVER:-.venv/bin/prover}"
read -r -a PYTHON <<< "${PYTHON:-.venv/bin/python}"
CORPUS="${CORPUS:-$OUT/corpus}"

case "$SIZE" in
  tiny) MODEL=(--vocab-size 400 --hidden-size 64 --layers 2 --heads 4)
        STEPS=4; SHAPE=(--batch-size 4 --max-length 256); ROUND_STEPS=2
        ITERATE_SETS=(--set coqlib:train:2 --set minif2f:valid:2); ROUNDS=2
        BENCH=(--sample 2 --minif2f 1 --budget 5 --max-expansions 4)
        TRACE=(--module Coq.Bool.Bool) ;;
  cpu)  MODEL=(--vocab-size 4096 --hidden-size 128 --layers 4 --heads 2)
        STEPS="${STEPS:-4000}"; SHAPE=(--batch-size 16 --max-length 512); ROUND_STEPS=600
        ITERATE_SETS=(--set coqlib:train:200 --set minif2f:valid); ROUNDS=2
        BENCH=(--sample 300 --minif2f 241 --budget 10 --max-expansions 64)
        TRACE=(--workers 2) ;;
  gpu)  MODEL=(--vocab-size 8192 --hidden-size 1024 --layers 16 --heads 16 --intermediate-size 4096)
        STEPS="${STEPS:-3000}"; SHAPE=(--batch-size 32 --max-length 1024); ROUND_STEPS=300
        ITERATE_SETS=(--set coqlib:train:500 --set minif2f:valid); ROUNDS=2
        BENCH=(--sample 300 --minif2f 241 --budget 10 --max-expansions 64)
        TRACE=(--workers "$(nproc)") ;;
  *) echo "SIZE must be tiny, cpu or gpu, not $SIZE" >&2; exit 2 ;;
esac

mkdir -p "$OUT"
if [ ! -f "$CORPUS/pairs-random-train.jsonl" ]; then
  "${PROVER[@]}" trace --out "$CORPUS" "${TRACE[@]}"
fi
PAIRS="$CORPUS/pairs-random-train.jsonl"

[ -f "$OUT/base/config.json" ] || "${PROVER[@]}" build-model "$OUT/base" --corpus "$PAIRS" "${MODEL[@]}"
# Equal steps, equal data, equal seed: only the loss differs.
[ -f "$OUT/ce/config.json" ] || "${PROVER[@]}" train --data "$PAIRS" --base-model "$OUT/base" \
  --out "$OUT/ce" --loss ce --steps "$STEPS" "${SHAPE[@]}"
for N in 4 16; do
  [ -f "$OUT/dco$N/config.json" ] || "${PROVER[@]}" train --data "$PAIRS" --base-model "$OUT/base" \
    --out "$OUT/dco$N" --loss dco-step --n-eff "$N" --steps "$STEPS" "${SHAPE[@]}"
done
# Expert iteration from the CE policy: search, keep verified steps, retrain, twice. The
# verified steps are repeated to a tenth of each round's data: once each, they were 0.15% of
# it and barely seen (benchmarks/results/learned-policy-iterate.md against -share.md).
[ -f "$OUT/iterate/rounds.jsonl" ] || "${PROVER[@]}" iterate --base-model "$OUT/ce" \
  --out "$OUT/iterate" --rounds "$ROUNDS" "${ITERATE_SETS[@]}" --steps "$ROUND_STEPS" \
  "${SHAPE[@]}" --seed-data "$PAIRS" --loss ce --timeout 10 \
  --verified-share "${VERIFIED_SHARE:-0.1}"

# --resume: the benchmark reads back the method runs a killed or earlier run finished with the
# same checkpoints and settings, so running this script again finishes what is left.
MODELS="ce=$OUT/ce,dco4=$OUT/dco4,dco16=$OUT/dco16"
for ROUND in "$OUT"/iterate/round-*; do
  [ -f "$ROUND/config.json" ] && MODELS="$MODELS,$(basename "$ROUND")=$ROUND"
done
"${PYTHON[@]}" benchmarks/learned_policy.py --models "$MODELS" --ensemble dco4,dco16 --hybrid ce \
  --hybrid-weights "${HYBRID_WEIGHTS:-0,0.5,1}" "${BENCH[@]}" \
  --out "${RESULTS:-$OUT/learned-policy.json}" --resume
