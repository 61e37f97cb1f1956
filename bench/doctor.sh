#!/usr/bin/env bash
# Wall time of a full `kubectl hyperpod doctor` run against the emulated cloud, compared with
# running the same external commands one after another (what the checks would cost in sequence).
#
#   bench/doctor.sh [RUNS] [SCENARIOS]   (defaults 5 and "0/0,300/100"; results in BENCHMARKS.md, by hand)
#
# SCENARIOS: comma-separated AWS_MS/KUBE_MS pairs, the round trip the emulators add to every AWS
# API request and to every Kubernetes API request (a stand-in for a distant region; 0/0 = loopback).
#
# The measurement itself is tests/doctor.rs::bench_doctor_wall_time (an ignored test, so it can
# use the emulated cloud of the test harness); this script runs it and prints its numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
latencies="${2:-0/0,300/100}"
out="$(HP_BENCH_RUNS="$runs" HP_BENCH_LATENCY_MS="$latencies" cargo test --quiet --test doctor -- --ignored --nocapture --exact bench_doctor_wall_time 2>&1)" || {
  printf '%s\n' "$out" >&2
  exit 1
}
grep '^BENCH ' <<<"$out" | sed 's/^BENCH //'
echo
echo "cores: $(nproc); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
