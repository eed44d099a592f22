#!/usr/bin/env bash
# Runs the loom models of the futex engine (loom-tests/tests/*.rs) against the real code.
#
#   bash loom-tests/run.sh                          # CI budget: LOOM_MAX_PREEMPTIONS=2
#   LOOM_MAX_PREEMPTIONS=1 bash loom-tests/run.sh   # quick run (seconds)
#   bash loom-tests/run.sh requeue                  # extra args go to the test harness (a filter)
#
# Cost: =2 takes about a minute on a 2-core machine (see the crate doc for the last measured
# figure); =3 multiplies the interleavings by roughly an order of magnitude per model and is
# not part of CI. LOOM_MAX_BRANCHES, LOOM_LOG=1, LOOM_LOCATION=1 and LOOM_CHECKPOINT_FILE are
# passed through to loom.
#
# --cfg lintel_loom switches lintel-futex's sync facade to loom; the separate target dir keeps
# the normal build's artifacts valid.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS="--cfg lintel_loom -C debug-assertions"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
exec cargo test -p lintel-loom-tests --release --target-dir target/loom -- --test-threads=2 "$@"
