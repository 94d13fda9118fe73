#!/usr/bin/env bash
# Re-creates the shipped models: trains each one, then `bnn-edge ship` copies its .bnn here,
# measures it (tfjs and runtime accuracy, agreement) and records it in manifest.json.
# Run from the repository root after `npm install`. Takes about three and a half hours on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
cli="node dist/src/cli/main.js"
runs=${RUNS:-runs}

train() { # name, then train options
  local name=$1; shift
  $cli train "$@" --out "$runs/$name"
  $cli ship "$runs/$name" --name "$name"
}

train a64  --arch A --k 64  --epochs 40 --seed 1
train b64  --arch B --k 64  --epochs 40 --seed 1
train c64  --arch C --k 64  --epochs 40 --seed 1
train s64  --arch S --k 64  --epochs 40 --seed 1
train b128 --arch B --k 128 --epochs 30 --seed 1
train b256 --arch B --k 256 --epochs 15 --seed 1   # ~65 min alone
train a64-pgd --arch A --k 64 --epochs 15 --seed 1 --lr-schedule constant --augment 0 --adv pgd --adv-eps 0.3 --adv-step 0.075 --adv-steps 10 --adv-clean-epochs 3   # PGD-trained A+ (~30 min)
