#!/usr/bin/env bash
# Every figure of BENCHMARKS.md (issue 15) with one command:
#
#   bench/run.sh [ROUNDS]        (default 5; output also in target/bench/run-<date>.txt)
#
# 1. tests/bench.rs::bench_issue_15 (an ignored test: it owns the emulated cloud): per round a
#    first setup, a no-op setup, doctor and deploy on a fresh sandbox, the same no-op setup and
#    doctor with the "before" build, and the guide's commands by a plain script (bench/guide.sh)
#    on a second fresh sandbox; emulators with injected latency (knobs below). Ratios 1-5, CPU
#    and processes per command.
# 2. bench/doctor.sh (ratio 4's earlier benchmark, static-token kubeconfig) for the distant-region
#    scenario (skip with HP_BENCH_DOCTOR_SH=0).
# 3. Ratio 6: start-up wall time and peak memory of `kubectl hyperpod --help` and
#    `deploy jumpstart --dry-run --offline` vs `hyp --help` (PyPI sagemaker-hyperpod, installed into
#    target/bench/hyp-venv when absent; skipped with a message when that install fails).
#
# Knobs (environment): HP_BENCH_AWS_S (0.3: every AWS API request), HP_BENCH_KUBE_S (0.05: every
# Kubernetes API request), HP_BENCH_ADDON_S (6: add-on CREATING -> ACTIVE, 60 s real),
# HP_BENCH_OPERATOR_S (9: a Deployment helm installs becomes available, 90 s real),
# HP_BENCH_MODEL_S (6: a model to DeploymentComplete); HP_BENCH_BIN (the "after" build, default
# this checkout's target/debug); HP_BENCH_BEFORE_REV (bc2ef6d: the
# "before" build, built once into target/bench/before; or HP_BENCH_BEFORE_BIN; HP_BENCH_BEFORE=0
# skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
export HP_E2E_ENV="${HP_E2E_ENV:-$PWD/target/e2e-env}"
mkdir -p target/bench
out="target/bench/run-$(date -u +%Y%m%dT%H%M%SZ).txt"
exec > >(tee "$out") 2>&1

echo "# bench/run.sh $rounds  ($(date -u '+%Y-%m-%d %H:%M UTC'), $(git rev-parse --short HEAD))"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

cargo test --quiet --no-run --test bench --test doctor 2>&1 | grep -v '^$' || true
bin="${HP_BENCH_BIN:-$PWD/target/debug/kubectl-hyperpod}"

# The "before" build: main at HP_BENCH_BEFORE_REV, in a worktree of its own under target/.
before_bin="${HP_BENCH_BEFORE_BIN:-}"
if [[ "${HP_BENCH_BEFORE:-1}" != 0 && -z "$before_bin" ]]; then
  rev="${HP_BENCH_BEFORE_REV:-bc2ef6d}"
  src="$PWD/target/bench/before-src"
  if [[ ! -d "$src" ]]; then
    git worktree add --detach "$src" "$rev" >/dev/null
  fi
  before_bin="$PWD/target/bench/before/debug/kubectl-hyperpod"
  [[ -x "$before_bin" ]] ||
    (cd "$src" && CARGO_TARGET_DIR="$PWD/../before" cargo build --quiet --bin kubectl-hyperpod)
fi

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
HP_BENCH_ROUNDS="$rounds" HP_BENCH_BEFORE_BIN="$before_bin" \
  cargo test --quiet --test bench -- --ignored --nocapture --exact bench_issue_15 2>&1 |
  grep '^BENCH ' | sed 's/^BENCH //'
echo "load average after ratios 1-5: $(cut -d' ' -f1-3 /proc/loadavg)"

if [[ "${HP_BENCH_DOCTOR_SH:-1}" != 0 ]]; then
  echo "## bench/doctor.sh $rounds 300/100"
  bench/doctor.sh "$rounds" 300/100 | grep -v '^BENCH   call\|  call ' || true
fi

# Ratio 6: start-up. Wall time and the child's own peak RSS (wait4), median of 5 runs each, of
# the release build (what users install; HP_BENCH_STARTUP_BIN to measure another).
startup_bin="${HP_BENCH_STARTUP_BIN:-}"
if [[ -z "$startup_bin" ]]; then
  cargo build --quiet --release --bin kubectl-hyperpod
  startup_bin="$PWD/target/release/kubectl-hyperpod"
fi
hyp="target/bench/hyp-venv/bin/hyp"
if [[ ! -x "$hyp" ]]; then
  (python3 -m venv target/bench/hyp-venv && target/bench/hyp-venv/bin/pip install -q sagemaker-hyperpod) \
    >target/bench/hyp-install.log 2>&1 || echo "hyp: install of sagemaker-hyperpod failed (target/bench/hyp-install.log); ratio 6 has no hyp figure"
fi
python3 - "$startup_bin" "$hyp" <<'EOF'
import os, statistics, subprocess, sys, time
bin_, hyp = sys.argv[1], sys.argv[2]
def run(argv, n=5):
    walls, rss = [], []
    for _ in range(n):
        t = time.perf_counter()
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        walls.append(time.perf_counter() - t)
        rss.append(ru.ru_maxrss / 1024)
        if os.waitstatus_to_exitcode(status) != 0:
            return None
    return statistics.median(walls), min(walls), max(walls), statistics.median(rss)
rows = [("kubectl hyperpod --help", [bin_, "--help"]),
        ("kubectl hyperpod deploy jumpstart --dry-run --offline",
         [bin_, "deploy", "jumpstart", "--name", "m", "--model-id", "huggingface-eqa-bert-base-cased",
          "--instance-type", "ml.c5.2xlarge", "--dry-run", "--offline"])]
if os.access(hyp, os.X_OK):
    rows.append(("hyp --help", [hyp, "--help"]))
res = {}
for name, argv in rows:
    r = run(argv)
    res[name] = r
    if r is None:
        print(f"startup {name}: failed")
    else:
        print(f"startup {name}: wall median={r[0]*1000:.1f} ms min={r[1]*1000:.1f} max={r[2]*1000:.1f} peak_rss={r[3]:.1f} MiB")
h = res.get("hyp --help")
if h:
    for name in rows[:2]:
        r = res[name[0]]
        if r:
            print(f"startup ratio hyp/{name[0]}: wall {h[0]/r[0]:.0f}x, memory {h[3]/r[3]:.1f}x")
EOF
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(output: $out)"
