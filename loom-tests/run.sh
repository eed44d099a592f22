#!/usr/bin/env bash
# Runs the loom models of the futex engine, thread exit, the signal layer and the statistics'
# address table (loom-tests/tests/*.rs) against the real code.
#
#   bash loom-tests/run.sh                          # CI budget: LOOM_MAX_PREEMPTIONS=2
#   LOOM_MAX_PREEMPTIONS=1 bash loom-tests/run.sh   # quick run (seconds)
#   bash loom-tests/run.sh --test requeue           # one model file (args go to cargo test)
#   bash loom-tests/run.sh stale_token              # a test-name filter
#
# Cost (2-core machine, measured): the build into target/loom takes ~30 s cold and ~12 s after
# a change to lintel-futex, lintel-clone or the models; the models themselves then run in
# 0.1 s at =1, 0.35 s at =2, 1.7 s at =3, 9 s at =4 and 44 s at =5 (the models are small on
# purpose; wait_wake, requeue and pi dominate above 3). LOOM_MAX_BRANCHES, LOOM_LOG=1,
# LOOM_LOCATION=1 and LOOM_CHECKPOINT_FILE are passed through to loom. Below 2, the models'
# coverage checks (Coverage::assert_all) are skipped.
#
# --cfg lintel_loom switches the sync facades of lintel-futex and lintel-signals to loom; the
# separate target dir keeps the normal build's artifacts valid.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS="--cfg lintel_loom -C debug-assertions"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
exec cargo test -p lintel-loom-tests --release --target-dir target/loom "$@" -- --test-threads=2
