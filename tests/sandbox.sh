#!/usr/bin/env bash
# A long-running emulated cloud for trying kubectl-hyperpod by hand.
#
#   eval "$(tests/sandbox.sh start [--profile NAME])"
#                                      # provision tools, build the plugin, start the emulators,
#                                      # seed a HyperPod cluster + its EKS cluster + a bucket as
#                                      # the profile has them (fresh (default), bare,
#                                      # metrics-server, addon: tests/env/profiles.py),
#                                      # print `export NAME=value` lines
#   kubectl hyperpod setup --hyperpod-cluster "$HYPERPOD_CLUSTER" --region "$AWS_REGION" \
#       --s3-bucket "$S3_BUCKET" --yes
#   tests/sandbox.sh env               # print the exports again
#   tests/sandbox.sh status            # what is running
#   tests/sandbox.sh stop              # stop what `start` started
#
# State (pid files, emulator state and logs, kubeconfig) lives in target/sandbox/ (or
# $HP_SANDBOX_DIR). Progress goes to stderr; stdout carries only the export lines.
# Knobs: HP_SANDBOX_HYPERPOD_CLUSTER, HP_SANDBOX_EKS_CLUSTER, HP_SANDBOX_BUCKET, HP_SANDBOX_REGION,
# HP_SANDBOX_ADDON_OBJECTS=0 (EKS add-ons then create no Kubernetes objects).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
SB="${HP_SANDBOX_DIR:-$REPO_ROOT/target/sandbox}"
ENV_DIR="${HP_E2E_ENV:-$REPO_ROOT/target/e2e-env}"
PY="$ENV_DIR/venv/bin/python"

HYPERPOD_CLUSTER="${HP_SANDBOX_HYPERPOD_CLUSTER:-my-hyperpod-cluster}"
EKS_CLUSTER="${HP_SANDBOX_EKS_CLUSTER:-my-hyperpod-eks}"
S3_BUCKET="${HP_SANDBOX_BUCKET:-my-tls-cert-bucket}"
REGION="${HP_SANDBOX_REGION:-us-west-2}"
PROFILE=fresh

log() { printf 'sandbox: %s\n' "$*" >&2; }
die() { printf 'sandbox: ERROR: %s\n' "$*" >&2; exit 1; }

alive() { # pidfile
  [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

running() {
  alive "$SB/kube.pid" && alive "$SB/aws.pid" && [[ -f "$SB/env.sh" ]]
}

json_field() { # file field
  "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

http() { # method url [body] [cafile]
  "$PY" - "$@" <<'EOF'
import sys, ssl, urllib.request
method, url = sys.argv[1], sys.argv[2]
body = sys.argv[3].encode() if len(sys.argv) > 3 and sys.argv[3] else None
ctx = ssl.create_default_context(cafile=sys.argv[4]) if len(sys.argv) > 4 else None
req = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, context=ctx, timeout=60) as r:
    sys.stdout.write(r.read().decode())
EOF
}

wait_file() { # file pidfile log what
  local i
  for ((i = 0; i < 600; i++)); do
    [[ -s "$1" ]] && return 0
    if ! alive "$2"; then
      log "$4 exited; its log ($3):"
      tail -n 40 "$3" >&2 || true
      exit 1
    fi
    sleep 0.1
  done
  die "$4 did not become ready within 60 s (log: $3)"
}

spawn() { # pidfile log cmd...
  local pidfile="$1" logf="$2"
  shift 2
  if command -v setsid >/dev/null 2>&1; then
    setsid nohup "$@" </dev/null >"$logf" 2>&1 &
  else
    nohup "$@" </dev/null >"$logf" 2>&1 &
  fi
  echo $! >"$pidfile"
}

print_env() {
  [[ -f "$SB/env.sh" ]] || die "not running (no $SB/env.sh); run: tests/sandbox.sh start"
  cat "$SB/env.sh"
}

cmd_start() {
  if running; then
    log "already running (tests/sandbox.sh stop to stop it)"
    print_env
    return
  fi
  cmd_stop quiet
  mkdir -p "$SB"
  rm -f "$SB"/*.json "$SB"/*.pid "$SB/env.sh" "$SB/kubeconfig"

  log "provisioning tools (tests/env/provision.sh)"
  bash "$SCRIPT_DIR/env/provision.sh" || die "provisioning failed"

  log "building the plugin (cargo build)"
  (cd "$REPO_ROOT" && cargo build --bin kubectl-hyperpod 1>&2) || die "cargo build failed"
  local target_dir
  target_dir="$(cd "$REPO_ROOT" && cargo metadata --format-version 1 --no-deps 2>/dev/null \
    | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null \
    || echo "$REPO_ROOT/target")"
  [[ -x "$target_dir/debug/kubectl-hyperpod" ]] || die "no $target_dir/debug/kubectl-hyperpod after cargo build"

  log "starting the Kubernetes API emulator"
  spawn "$SB/kube.pid" "$SB/kube.log" "$PY" "$SCRIPT_DIR/env/kube_emulator.py" --state-file "$SB/kube.json" --port 0
  wait_file "$SB/kube.json" "$SB/kube.pid" "$SB/kube.log" "kube emulator"
  local kube_url kube_ca_file kube_ca_data
  kube_url="$(json_field "$SB/kube.json" url)"
  kube_ca_file="$(json_field "$SB/kube.json" ca_file)"
  kube_ca_data="$(json_field "$SB/kube.json" ca_data)"

  log "starting the AWS emulator"
  HP_KUBE_URL="$kube_url" HP_KUBE_CA_DATA="$kube_ca_data" \
    spawn "$SB/aws.pid" "$SB/aws.log" "$PY" "$SCRIPT_DIR/env/aws_emulator.py" --state-file "$SB/aws.json" --port 0 --quiet
  wait_file "$SB/aws.json" "$SB/aws.pid" "$SB/aws.log" "AWS emulator"
  local aws_url
  aws_url="$(json_field "$SB/aws.json" url)"

  log "seeding HyperPod cluster $HYPERPOD_CLUSTER, EKS cluster $EKS_CLUSTER, bucket $S3_BUCKET (profile $PROFILE)"
  http POST "$aws_url/_hp/seed" \
    "{\"region\": \"$REGION\", \"eksCluster\": \"$EKS_CLUSTER\", \"hyperpodCluster\": \"$HYPERPOD_CLUSTER\", \"bucket\": \"$S3_BUCKET\", \"profile\": \"$PROFILE\"}" \
    >"$SB/seed.json" || die "seeding failed (log: $SB/aws.log)"
  log "emulated operator: new models reach DeploymentComplete after a few seconds"
  http PUT "$kube_url/clusters/$EKS_CLUSTER/_emulator/config" \
    '{"modelOperator": "complete", "modelDelaySeconds": 3}' "$kube_ca_file" >/dev/null \
    || die "configuring the kube emulator failed (log: $SB/kube.log)"

  if [[ "${HP_SANDBOX_ADDON_OBJECTS:-1}" == 0 ]]; then
    log "EKS add-ons will not create Kubernetes objects (HP_SANDBOX_ADDON_OBJECTS=0)"
    http PUT "$aws_url/_hp/clusters/$EKS_CLUSTER/addon-config?region=$REGION" '{"pushKubeObjects": false}' >/dev/null \
      || die "configuring the AWS emulator failed (log: $SB/aws.log)"
  fi

  mkdir -p "$SB/aws"
  printf '[default]\nregion = %s\noutput = json\n' "$REGION" >"$SB/aws/config"
  printf '[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n' >"$SB/aws/credentials"

  q() { printf '%q' "$1"; }
  {
    echo "export PATH=$(q "$target_dir/debug"):$(q "$ENV_DIR/bin"):\"\$PATH\""
    echo "export AWS_ENDPOINT_URL=$(q "$aws_url")"
    echo "export AWS_ACCESS_KEY_ID=testing"
    echo "export AWS_SECRET_ACCESS_KEY=testing"
    echo "export AWS_REGION=$(q "$REGION")"
    echo "export AWS_DEFAULT_REGION=$(q "$REGION")"
    echo "export AWS_CONFIG_FILE=$(q "$SB/aws/config")"
    echo "export AWS_SHARED_CREDENTIALS_FILE=$(q "$SB/aws/credentials")"
    echo "export AWS_EC2_METADATA_DISABLED=true"
    echo "export KUBECONFIG=$(q "$SB/kubeconfig")"
    echo "export HYPERPOD_CLUSTER=$(q "$HYPERPOD_CLUSTER")"
    echo "export EKS_CLUSTER=$(q "$EKS_CLUSTER")"
    echo "export S3_BUCKET=$(q "$S3_BUCKET")"
    echo "export HP_CHART_DIR=$(q "$SCRIPT_DIR/env/chart/hyperpod-inference-operator")"
    echo "export HP_KUBE_URL=$(q "$kube_url")"
    echo "export HP_KUBE_CA_FILE=$(q "$kube_ca_file")"
    echo "export HP_SANDBOX_PROFILE=$(q "$PROFILE")"
  } >"$SB/env.sh"
  log "ready: kube $kube_url, aws $aws_url (logs in $SB)"
  print_env
}

stop_one() { # name
  local pidfile="$SB/$1.pid" pid i
  [[ -f "$pidfile" ]] || return 0
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

cmd_stop() {
  stop_one aws
  stop_one kube
  rm -f "$SB/env.sh"
  [[ "${1:-}" == quiet ]] || log "stopped"
}

cmd_status() {
  for n in kube aws; do
    if alive "$SB/$n.pid"; then
      log "$n emulator running (pid $(cat "$SB/$n.pid"))"
    else
      log "$n emulator not running"
    fi
  done
  running
}

case "${1:-}" in
start)
  shift
  while (($#)); do
    case "$1" in
    --profile)
      [[ $# -ge 2 ]] || die "--profile needs a value (fresh, bare, metrics-server, addon)"
      PROFILE="$2"
      shift 2
      ;;
    --profile=*)
      PROFILE="${1#--profile=}"
      shift
      ;;
    *) die "unknown argument $1 (usage: tests/sandbox.sh start [--profile fresh|bare|metrics-server|addon])" ;;
    esac
  done
  case "$PROFILE" in
  fresh | bare | metrics-server | addon) ;;
  *) die "unknown profile $PROFILE (fresh, bare, metrics-server, addon)" ;;
  esac
  cmd_start
  ;;
stop) cmd_stop ;;
env) running || die "not running; run: tests/sandbox.sh start"; print_env ;;
status) cmd_status ;;
*)
  echo "usage: tests/sandbox.sh start [--profile fresh|bare|metrics-server|addon]|stop|env|status" >&2
  exit 2
  ;;
esac
