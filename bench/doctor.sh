#!/usr/bin/env bash
# Wall time of a full `kubectl hyperpod doctor` run against the emulated cloud, compared with
# running the same external commands one after another (what the checks would cost in sequence).
#
#   bench/doctor.sh [RUNS]        (default 5; results also in bench/RESULTS.md, written by hand)
#
# The measurement itself is tests/doctor.rs::bench_doctor_wall_time (an ignored test, so it can
# use the emulated cloud of the test harness); this script runs it and prints its numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
out="$(HP_BENCH_RUNS="$runs" cargo test --quiet --test doctor -- --ignored --nocapture --exact bench_doctor_wall_time 2>&1)" || {
  printf '%s\n' "$out" >&2
  exit 1
}
grep '^BENCH ' <<<"$out" | sed 's/^BENCH //'
echo
echo "cores: $(nproc); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
