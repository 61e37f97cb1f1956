#!/usr/bin/env bash
# Checks tests/env/kube_emulator.py against the REAL kubectl (1.37) and helm (3.19).
#
#   bash tests/env/check_kube_emulator.sh
#
# Starts the emulator (HTTPS, its own CA), writes a kubeconfig with certificate-authority-data,
# runs each check and stops at the first failure (exit 1). Tools come from target/e2e-env
# (tests/env/provision.sh, run if missing) unless PYTHON, KUBECTL and HELM are set.
# No sleeps for synchronisation: background writers are awaited with `kubectl wait` or polled
# with a deadline. Ends with "N passed, M failed".
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ENV_DIR="${HP_E2E_ENV:-$ROOT/target/e2e-env}"
if [[ -z "${KUBECTL:-}" || -z "${HELM:-}" || -z "${PYTHON:-}" ]] && [[ ! -x "$ENV_DIR/bin/helm" ]]; then
  bash "$HERE/provision.sh" || { echo "provision.sh failed" >&2; exit 1; }
fi
PYTHON="${PYTHON:-$ENV_DIR/venv/bin/python}"
KUBECTL="${KUBECTL:-$ENV_DIR/bin/kubectl}"
HELM="${HELM:-$ENV_DIR/bin/helm}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/kube-emu-check.XXXXXX")"
export KUBECONFIG="$WORK/kubeconfig" KUBECACHEDIR="$WORK/kube-cache"
export HELM_CONFIG_HOME="$WORK/helm/config" HELM_CACHE_HOME="$WORK/helm/cache" HELM_DATA_HOME="$WORK/helm/data"
unset KUBE_FEATURE_WatchListClient
PASSED=0
EMU_PID=""
BG_PIDS=()

cleanup() {
  local p
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  [[ -n "$EMU_PID" ]] && kill "$EMU_PID" 2>/dev/null
  exec 9>&- 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $CURRENT: $*" >&2
  [[ -f "$WORK/out" ]] && { echo "--- stdout"; cat "$WORK/out"; } >&2
  [[ -f "$WORK/err" ]] && { echo "--- stderr"; cat "$WORK/err"; } >&2
  echo "--- emulator log (tail)" >&2; tail -20 "$WORK/emu.log" >&2
  echo "$PASSED passed, 1 failed"
  exit 1
}
check() { CURRENT="$*"; rm -f "$WORK/out" "$WORK/err"; }
ok() { PASSED=$((PASSED + 1)); echo "ok $PASSED - $CURRENT"; }

# run CMD...: must exit 0; stdout in $WORK/out, stderr in $WORK/err
run() { "$@" >"$WORK/out" 2>"$WORK/err" || fail "exit $? from: $*"; }
# run_fails CODE CMD...: must exit with CODE
run_fails() { local want="$1"; shift; "$@" >"$WORK/out" 2>"$WORK/err"; local rc=$?; [[ $rc == "$want" ]] || fail "want exit $want, got $rc from: $*"; }
has_line() { grep -qxF -- "$2" "$WORK/$1" || fail "$1 lacks the line: $2"; }
has() { grep -qF -- "$2" "$WORK/$1" || fail "$1 lacks: $2"; }
eq() { [[ "$1" == "$2" ]] || fail "got [$1], want [$2]"; }
k() { "$KUBECTL" "$@"; }

# hook METHOD PATH [BODY]: calls the emulator's test hooks of cluster "check" (stdout: response)
hook() {
  "$PYTHON" - "$STATE" "$1" "/clusters/check$2" "${3-}" <<'EOF'
import json, ssl, sys, urllib.request
state, method, path, body = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=state["ca_file"])
req = urllib.request.Request(state["url"] + path, data=body.encode() if body else None, method=method)
req.add_header("Content-Type", "application/json")
print(urllib.request.urlopen(req, context=ctx, timeout=10).read().decode())
EOF
}
# await_watch NAME [sendInitialEvents]: polls (10 s deadline) the request log until a watch on
# object NAME has been opened, so that a following write is seen through the watch
await_watch() {
  "$PYTHON" - "$STATE" "$1" "${2-}" <<'EOF' || fail "no watch on $1 seen within 10 s"
import json, ssl, sys, time, urllib.request
state, name, initial = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=state["ca_file"])
deadline = time.time() + 10
while time.time() < deadline:
    reqs = json.load(urllib.request.urlopen(state["url"] + "/clusters/check/_emulator/requests", context=ctx))["items"]
    for r in reqs:
        q = r["query"] or ""
        if "watch=true" in q and "metadata.name%3D" + name in q and (not initial or "sendInitialEvents=" + initial in q):
            sys.exit(0)
    time.sleep(0.05)
sys.exit(1)
EOF
}
# json_get EXPR: evaluates a python expression on the JSON in $WORK/out (bound to d)
json_get() { "$PYTHON" -c "import json,sys; d=json.load(open(sys.argv[1])); v=[$1]; print(v[0] if len(v) == 1 else tuple(v))" "$WORK/out"; }

# ------------------------------------------------------------------------------------------
check "emulator starts in under 1 s and writes its state file"
STATE="$WORK/state.json"
T0=$("$PYTHON" -c 'import time; print(time.time())')
# stdin is a pipe held by fd 9: if this script dies, the emulator sees EOF and exits
exec 9> >(exec "$PYTHON" "$HERE/kube_emulator.py" --state-file "$STATE" --exit-on-stdin-eof >"$WORK/emu.log" 2>&1)
"$PYTHON" - "$STATE" <<'EOF' || fail "no state file within 10 s"
import os, sys, time
deadline = time.time() + 10
while not os.path.exists(sys.argv[1]):
    if time.time() > deadline:
        sys.exit(1)
    time.sleep(0.02)
EOF
STARTUP=$("$PYTHON" -c "import time; print(round(time.time() - $T0, 2))")
EMU_PID=$("$PYTHON" -c "import json,sys; print(json.load(open(sys.argv[1]))['pid'])" "$STATE")
URL=$("$PYTHON" -c "import json,sys; print(json.load(open(sys.argv[1]))['url'])" "$STATE")
CA_DATA=$("$PYTHON" -c "import json,sys; print(json.load(open(sys.argv[1]))['ca_data'])" "$STATE")
"$PYTHON" -c "import sys; sys.exit(0 if float(sys.argv[1]) < 1.0 else 1)" "$STARTUP" || fail "start-up took ${STARTUP}s"
[[ "$URL" == https://127.0.0.1:* ]] || fail "url $URL"
echo "# emulator at $URL (pid $EMU_PID), ready in ${STARTUP}s"
ok

write_kubeconfig() { # path cluster-id
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: emu
  cluster:
    server: $URL/clusters/$2
    certificate-authority-data: $CA_DATA
contexts:
- name: emu
  context: {cluster: emu, user: tester, namespace: default}
current-context: emu
users:
- name: tester
  user: {token: k8s-aws-v1.check-token}
EOF
}
write_kubeconfig "$KUBECONFIG" check

check "kubectl version talks to the server over TLS with the CA from the kubeconfig"
run k version
has out "Server Version: v1.33.5-eks-3025e55"
ok

check "bearer token accepted, only its scheme recorded"
run hook GET /_emulator/config
eq "$(json_get 'd["lastAuthScheme"], d["lastTokenKind"]')" "('Bearer', 'k8s-aws-v1')"
ok

check "kubectl api-resources lists the built-in groups"
run k api-resources
grep -qE '^deployments +deploy +apps/v1 +true +Deployment *$' "$WORK/out" || fail "no deployments row"
for r in customresourcedefinitions clusterrolebindings csidrivers mutatingwebhookconfigurations leases ingresses jobs; do has out "$r"; done
ok

check "kubectl create namespace demo (protobuf body)"
run hook DELETE /_emulator/requests
run k create namespace demo
has_line out "namespace/demo created"
run hook GET /_emulator/requests
has out '"contentType":"application/vnd.kubernetes.protobuf"'
run k get serviceaccount default -n demo -o name
has_line out "serviceaccount/default"
ok

check "duplicate create: exact AlreadyExists text, exit 1"
run_fails 1 k create namespace demo
has_line err 'Error from server (AlreadyExists): namespaces "demo" already exists'
ok

check "missing object: exact NotFound text, exit 1"
run_fails 1 k get ns x
has_line err 'Error from server (NotFound): namespaces "x" not found'
ok

check "namespaced object in a missing namespace: 404 namespaces not found"
run_fails 1 k create configmap c -n nowhere
has_line err 'error: failed to create configmap: namespaces "nowhere" not found'
ok

check "kubectl apply -f of the three reference CRDs; their kinds appear in discovery"
for f in "$ROOT"/../shared/reference/crds/*.yaml /work/shared/reference/crds/*.yaml; do
  [[ -f "$f" ]] || continue
  CRD_DIR="$(dirname "$f")"; break
done
[[ -n "${CRD_DIR:-}" ]] || fail "reference CRDs not found (shared/reference/crds)"
for f in jumpstartmodels inferenceendpointconfigs sagemakerendpointregistrations; do
  run k apply -f "$CRD_DIR/$f.yaml"
  has_line out "customresourcedefinition.apiextensions.k8s.io/$f.inference.sagemaker.aws.amazon.com created"
done
run k api-resources --api-group=inference.sagemaker.aws.amazon.com
has out "jumpstartmodels"
has out "inferenceendpointconfigs"
run k get crd jumpstartmodels.inference.sagemaker.aws.amazon.com -o jsonpath='{.status.conditions[?(@.type=="Established")].status}'
eq "$(cat "$WORK/out")" "True"
ok

cat >"$WORK/jsm-guide.yaml" <<'EOF'
apiVersion: inference.sagemaker.aws.amazon.com/v1
kind: JumpStartModel
metadata: {name: my-bert-model, namespace: default}
spec:
  model: {modelId: "huggingface-eqa-bert-base-cased"}
  sageMakerEndpoint: {name: "my-bert-endpoint"}
  server:
    instanceType: "ml.c5.2xlarge"
    environmentVariables: [{name: SAMPLE_ENV_VAR, value: "sample_value"}]
  maxDeployTimeInSeconds: 1800
EOF

check "the guide's JumpStartModel: strict field validation rejects spec.server.environmentVariables (not in the v1 schema)"
run_fails 1 k apply -f "$WORK/jsm-guide.yaml"
has_line err "Error from server (BadRequest): error when creating \"$WORK/jsm-guide.yaml\": JumpStartModel in version \"v1\" cannot be handled as a JumpStartModel: strict decoding error: unknown field \"spec.server.environmentVariables\""
ok

check "the guide's JumpStartModel with --validate=false: created, unknown field pruned, schema defaults applied"
run k apply -f "$WORK/jsm-guide.yaml" --validate=false
has_line out "jumpstartmodel.inference.sagemaker.aws.amazon.com/my-bert-model created"
run k get jumpstartmodels -o json
eq "$(json_get 'd["kind"], len(d["items"]), d["items"][0]["metadata"]["name"]')" "('List', 1, 'my-bert-model')"
eq "$(json_get 'd["items"][0]["spec"]["model"]["acceptEula"], d["items"][0]["spec"]["maxDeployTimeInSeconds"], d["items"][0]["spec"]["replicas"]')" "(False, 1800, 1)"
eq "$(json_get '"environmentVariables" in d["items"][0]["spec"]["server"]')" "False"
eq "$(json_get 'bool(d["items"][0]["metadata"]["uid"] and d["items"][0]["metadata"]["resourceVersion"] and d["items"][0]["metadata"]["creationTimestamp"]), d["items"][0]["metadata"]["generation"]')" "(True, 1)"
ok

check "a JumpStartModel with the environment variables where the v1 schema has them is accepted strictly"
sed -e 's/my-bert-model/my-bert-model-2/' -e '/environmentVariables/d' -e 's/^  maxDeployTimeInSeconds/  environmentVariables: [{name: SAMPLE_ENV_VAR, value: "sample_value"}]\n  maxDeployTimeInSeconds/' \
  "$WORK/jsm-guide.yaml" >"$WORK/jsm.yaml"
run k apply -f "$WORK/jsm.yaml"
has_line out "jumpstartmodel.inference.sagemaker.aws.amazon.com/my-bert-model-2 created"
run k apply -f "$WORK/jsm.yaml"
has_line out "jumpstartmodel.inference.sagemaker.aws.amazon.com/my-bert-model-2 unchanged"
ok

check "server-side validation: instanceType c5 rejected with 422 naming the field"
cat >"$WORK/bad.yaml" <<'EOF'
apiVersion: inference.sagemaker.aws.amazon.com/v1
kind: JumpStartModel
metadata: {name: bad-model, namespace: default}
spec:
  model: {modelId: "huggingface-eqa-bert-base-cased"}
  server: {instanceType: "c5"}
EOF
run_fails 1 k apply -f "$WORK/bad.yaml"
has_line err "The JumpStartModel \"bad-model\" is invalid: spec.server.instanceType: Invalid value: \"c5\": spec.server.instanceType in body should match '^ml\\..*'"
run_fails 1 k get jumpstartmodel bad-model
ok

check "server-side validation: missing required field"
printf 'apiVersion: inference.sagemaker.aws.amazon.com/v1\nkind: JumpStartModel\nmetadata: {name: bad-2}\nspec:\n  model: {modelId: m}\n' >"$WORK/bad2.yaml"
run_fails 1 k apply -f "$WORK/bad2.yaml"
has_line err 'The JumpStartModel "bad-2" is invalid: spec.server: Required value'
ok

check "dry-run=server validates without storing"
sed 's/my-bert-model-2/dry-model/' "$WORK/jsm.yaml" >"$WORK/dry.yaml"
run k apply -f "$WORK/dry.yaml" --dry-run=server
has_line out "jumpstartmodel.inference.sagemaker.aws.amazon.com/dry-model created (server dry run)"
run_fails 1 k get jumpstartmodel dry-model
ok

check "annotate and label, with --overwrite and removal"
run k annotate jumpstartmodel my-bert-model owner=a
run_fails 1 k annotate jumpstartmodel my-bert-model owner=b
has err "--overwrite is false but found the following declared annotation(s): 'owner' already has a value (a)"
run k annotate jumpstartmodel my-bert-model owner=b --overwrite
run k label jumpstartmodel my-bert-model team=x
run k label jumpstartmodel my-bert-model team=y --overwrite
run k label jumpstartmodel my-bert-model gone=1
run k label jumpstartmodel my-bert-model gone-
run k get jumpstartmodel my-bert-model -o jsonpath='{.metadata.annotations.owner} {.metadata.labels}'
eq "$(cat "$WORK/out")" 'b {"team":"y"}'
ok

check "patch --type merge | json on a custom resource; strategic is refused like a real server"
run k patch jumpstartmodel my-bert-model --type merge -p '{"spec":{"replicas":2}}'
run k patch jumpstartmodel my-bert-model --type json -p '[{"op":"replace","path":"/spec/replicas","value":3}]'
run k get jumpstartmodel my-bert-model -o jsonpath='{.spec.replicas} {.metadata.generation}'
eq "$(cat "$WORK/out")" "3 3"
run_fails 1 k patch jumpstartmodel my-bert-model -p '{"spec":{"replicas":4}}'
has err "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
ok

check "patch --type strategic on a Deployment merges containers by name"
run k create deployment web --image=nginx:1.27 --replicas=2
run k patch deployment web --type strategic -p '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.28"},{"name":"side","image":"busybox"}]}}}}'
run k get deployment web -o jsonpath='{.spec.template.spec.containers[*].name} {.spec.template.spec.containers[0].image}'
eq "$(cat "$WORK/out")" "nginx side nginx:1.28"
ok

check "kubectl wait --for=condition=Available deployment (auto-ready pods, ReplicaSet)"
run k wait --for=condition=Available deployment/web --timeout=20s
has_line out "deployment.apps/web condition met"
run k get pods -l app=web -o jsonpath='{range .items[*]}{.status.phase}{" "}{end}'
eq "$(cat "$WORK/out")" "Running Running "
run k rollout status deployment/web --timeout=20s
ok

check "a deleted controller-owned pod is replaced; scale subresource; generateName; auth can-i"
run k delete pod -l app=web
run k wait --for=condition=Available deployment/web --timeout=20s
run k get pods -l app=web -o name
[[ $(wc -l <"$WORK/out") == 2 ]] || fail "want 2 pods after replacement"
run k scale deployment web --replicas=3
run k get pods -l app=web -o name
[[ $(wc -l <"$WORK/out") == 3 ]] || fail "want 3 pods after scale"
run k scale jumpstartmodel my-bert-model --replicas=2
run k get jumpstartmodel my-bert-model -o jsonpath='{.spec.replicas}'
eq "$(cat "$WORK/out")" "2"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: gen-}\n' >"$WORK/gen.yaml"
run k create -f "$WORK/gen.yaml" -n demo
grep -qE '^configmap/gen-[a-z0-9]{5} created$' "$WORK/out" || fail "generateName"
run k auth can-i create pods
eq "$(cat "$WORK/out")" "yes"
ok

check "server-side apply: creates when missing, then merges"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa, labels: {app: ssa}}\ndata: {a: "1"}\n' >"$WORK/ssa.yaml"
run k apply --server-side -f "$WORK/ssa.yaml"
has_line out "configmap/ssa serverside-applied"
sed -i 's/a: "1"/a: "2"/' "$WORK/ssa.yaml"
run k apply --server-side -f "$WORK/ssa.yaml"
run k get configmap ssa -o jsonpath='{.data.a}'
eq "$(cat "$WORK/out")" "2"
run k apply --server-side -f "$WORK/jsm.yaml"
has_line out "jumpstartmodel.inference.sagemaker.aws.amazon.com/my-bert-model-2 serverside-applied"
ok

check "create serviceaccount | secret generic | configmap (protobuf), then read them back"
run k create serviceaccount robot
run k create secret generic creds --from-literal=user=alice
run k create configmap settings --from-literal=mode=fast --from-literal=level=3
run k get secret creds -o jsonpath='{.type} {.data.user}'
eq "$(cat "$WORK/out")" "Opaque YWxpY2U="
run k get configmap settings -o jsonpath='{.data.mode}{.data.level}'
eq "$(cat "$WORK/out")" "fast3"
run k annotate serviceaccount robot eks.amazonaws.com/role-arn=arn:aws:iam::123456789012:role/robot
run k get sa robot -o jsonpath='{.metadata.annotations.eks\.amazonaws\.com/role-arn}'
eq "$(cat "$WORK/out")" "arn:aws:iam::123456789012:role/robot"
ok

check "get -l (=, ==, !=, in, notin, exists, !key) and --field-selector"
run k label configmap settings tier=gold
run k label configmap ssa tier=silver
sel() { run k get configmap -l "$1" -o name; tr '\n' ' ' <"$WORK/out"; }
eq "$(sel tier=gold)" "configmap/settings "
eq "$(sel tier==silver)" "configmap/ssa "
eq "$(sel 'tier in (gold,silver)')" "configmap/settings configmap/ssa "
eq "$(sel 'tier notin (gold)')" "configmap/ssa "
eq "$(sel 'tier,app')" "configmap/ssa "
eq "$(sel '!tier')" ""
eq "$(sel 'tier!=gold')" "configmap/ssa "
run k get configmap --field-selector metadata.name=ssa -o name
eq "$(cat "$WORK/out")" "configmap/ssa"
run k get pods -A --field-selector status.phase=Running -o name
[[ $(wc -l <"$WORK/out") == 3 ]] || fail "want 3 running pods"
ok

check "update with a stale resourceVersion: 409 Conflict"
run k get configmap ssa -o json
"$PYTHON" -c "import json,sys; d=json.load(open(sys.argv[1])); d['metadata']['resourceVersion']='1'; d['data']['a']='9'; json.dump(d, open(sys.argv[2],'w'))" "$WORK/out" "$WORK/stale.json"
run_fails 1 k replace -f "$WORK/stale.json"
has err 'Operation cannot be fulfilled on configmaps "ssa": the object has been modified; please apply your changes to the latest version and try again'
ok

check "wait --for=jsonpath satisfied by a status change from a background kubectl patch --subresource=status (watch-list)"
run hook DELETE /_emulator/requests
( await_watch my-bert-model true
  exec "$KUBECTL" patch jumpstartmodel my-bert-model --subresource=status --type merge \
    -p '{"status":{"deploymentStatus":{"name":"my-bert-model","lastUpdated":"2026-01-01T00:00:00Z","deploymentObjectOverallState":"DeploymentComplete"}}}' ) >/dev/null 2>&1 &
BG_PIDS+=($!)
run k wait --for=jsonpath='{.status.deploymentStatus.deploymentObjectOverallState}'=DeploymentComplete jumpstartmodel/my-bert-model --timeout=20s
has_line out "jumpstartmodel.inference.sagemaker.aws.amazon.com/my-bert-model condition met"
wait "${BG_PIDS[-1]}" || fail "background status patch failed"
ok

check "status subresource: main-resource writes ignore .status, status writes ignore .spec"
run k patch jumpstartmodel my-bert-model --type merge -p '{"spec":{"replicas":5},"status":{"state":"DeploymentFailed"}}'
run k patch jumpstartmodel my-bert-model --subresource=status --type merge -p '{"spec":{"replicas":9},"status":{"state":"DeploymentComplete"}}'
run k get jumpstartmodel my-bert-model -o jsonpath='{.spec.replicas} {.status.state}'
eq "$(cat "$WORK/out")" "5 DeploymentComplete"
ok

check "wait --for=delete with a finalizer: delete sets deletionTimestamp, removing the finalizer deletes"
run k patch jumpstartmodel my-bert-model --type merge -p '{"metadata":{"finalizers":["example.com/hold"]}}'
run k delete jumpstartmodel my-bert-model --wait=false
run k get jumpstartmodel my-bert-model -o jsonpath='{.metadata.deletionTimestamp}'
[[ -n "$(cat "$WORK/out")" ]] || fail "no deletionTimestamp"
run hook DELETE /_emulator/requests
( await_watch my-bert-model true
  exec "$KUBECTL" patch jumpstartmodel my-bert-model --type json -p '[{"op":"remove","path":"/metadata/finalizers"}]' ) >/dev/null 2>&1 &
BG_PIDS+=($!)
run k wait --for=delete jumpstartmodel/my-bert-model --timeout=20s
run_fails 1 k get jumpstartmodel my-bert-model
has_line err 'Error from server (NotFound): jumpstartmodels.inference.sagemaker.aws.amazon.com "my-bert-model" not found'
ok

check "modelOperator=complete: finalizer, DeploymentInProgress, then DeploymentComplete with endpoint and app=<name> pod"
run hook PUT /_emulator/config '{"modelOperator":"complete","modelDelaySeconds":3}'
sed 's/my-bert-model-2/op-model/' "$WORK/jsm.yaml" >"$WORK/op.yaml"
run k apply -f "$WORK/op.yaml"
run k get jumpstartmodel op-model -o jsonpath='{.metadata.finalizers[0]} {.status.deploymentStatus.deploymentObjectOverallState}'
eq "$(cat "$WORK/out")" "inference.sagemaker.aws.amazon.com/finalizer DeploymentInProgress"
run k wait --for=jsonpath='{.status.deploymentStatus.deploymentObjectOverallState}'=DeploymentComplete jumpstartmodel/op-model --timeout=20s
run k get jumpstartmodel op-model -o jsonpath='{.status.state} {.status.endpoints.sagemaker.state}'
eq "$(cat "$WORK/out")" "DeploymentComplete CreationCompleted"
run k get pods -l app=op-model -o jsonpath='{.items[0].status.phase}'
eq "$(cat "$WORK/out")" "Running"
ok

check "modelOperator deletion: DeletionInProgress, then the object and its pods go (wait --for=delete)"
run k delete jumpstartmodel op-model --wait=false
run k get jumpstartmodel op-model -o jsonpath='{.status.deploymentStatus.deploymentObjectOverallState}'
eq "$(cat "$WORK/out")" "DeletionInProgress"
run k wait --for=delete jumpstartmodel/op-model --timeout=20s
run k get pods,deployments -l app=op-model -o name
eq "$(cat "$WORK/out")" ""
ok

check "modelOperator=fail: DeploymentFailed with the configured reason and message"
run hook PUT /_emulator/config '{"modelOperator":"fail","modelFailReason":"CapacityError","modelFailMessage":"no ml.c5.2xlarge capacity"}'
sed 's/my-bert-model-2/fail-model/' "$WORK/jsm.yaml" >"$WORK/fail.yaml"
run k apply -f "$WORK/fail.yaml"
run k wait --for=jsonpath='{.status.deploymentStatus.deploymentObjectOverallState}'=DeploymentFailed jumpstartmodel/fail-model --timeout=20s
run k get jumpstartmodel fail-model -o jsonpath='{.status.deploymentStatus.reason}: {.status.deploymentStatus.message}'
eq "$(cat "$WORK/out")" "CapacityError: no ml.c5.2xlarge capacity"
run hook PUT /_emulator/config '{"modelOperator":"off"}'
ok

check "classic LIST+WATCH (KUBE_FEATURE_WatchListClient=false): wait --for=jsonpath and --for=delete"
sed 's/my-bert-model-2/classic/' "$WORK/jsm.yaml" >"$WORK/classic.yaml"
run k apply -f "$WORK/classic.yaml"
run hook DELETE /_emulator/requests
( KUBE_FEATURE_WatchListClient=false exec "$KUBECTL" wait --for=jsonpath='{.status.state}'=DeploymentComplete jumpstartmodel/classic --timeout=20s ) >"$WORK/bg.out" 2>&1 &
WPID=$!; BG_PIDS+=($WPID)
await_watch classic
run hook GET /_emulator/requests
has out '"query":"allowWatchBookmarks=true&fieldSelector=metadata.name%3Dclassic&resourceVersion='
run k patch jumpstartmodel classic --subresource=status --type merge -p '{"status":{"state":"DeploymentComplete"}}'
wait "$WPID" || { cat "$WORK/bg.out" >&2; fail "classic wait failed"; }
run k patch jumpstartmodel classic --type merge -p '{"metadata":{"finalizers":["example.com/hold"]}}'
run k delete jumpstartmodel classic --wait=false
run hook DELETE /_emulator/requests
( KUBE_FEATURE_WatchListClient=false exec "$KUBECTL" wait --for=delete jumpstartmodel/classic --timeout=20s ) >"$WORK/bg.out" 2>&1 &
WPID=$!; BG_PIDS+=($WPID)
await_watch classic
run k patch jumpstartmodel classic --type merge -p '{"metadata":{"finalizers":null}}'
wait "$WPID" || { cat "$WORK/bg.out" >&2; fail "classic wait --for=delete failed"; }
KUBE_FEATURE_WatchListClient=false run k wait --for=condition=Available deployment/web --timeout=20s
ok

check "wait times out with kubectl's message when the condition never holds"
sed 's/my-bert-model-2/never/' "$WORK/jsm.yaml" >"$WORK/never.yaml"
run k apply -f "$WORK/never.yaml"
run_fails 1 k wait --for=jsonpath='{.status.state}'=DeploymentComplete jumpstartmodel/never --timeout=1s
has_line err "error: timed out waiting for the condition on jumpstartmodels/never"
ok

check "logs from the hook (default container, -c, --tail, -l, --previous)"
run k get pods -l app=web -o jsonpath='{.items[0].metadata.name}'
POD="$(cat "$WORK/out")"
run hook PUT "/_emulator/logs/default/$POD" $'line 1\nline 2\nline 3\n'
run k logs "$POD"
eq "$(cat "$WORK/out")" $'line 1\nline 2\nline 3'
run k logs "$POD" --tail=1
eq "$(cat "$WORK/out")" "line 3"
run k logs -l app=web --tail=1
has_line out "line 3"
run hook PUT "/_emulator/logs/default/$POD/nginx?previous=true" 'crashed before'
run k logs "$POD" -c nginx --previous
eq "$(cat "$WORK/out")" "crashed before"
ok

check "objects from the hook keep their status: GPU nodes, unschedulable pod, CrashLoopBackOff, events"
run hook POST /_emulator/objects '{"items": [
 {"apiVersion":"v1","kind":"Node","metadata":{"name":"gpu-node","labels":{"node.kubernetes.io/instance-type":"ml.g5.8xlarge"}},"status":{"allocatable":{"cpu":"32","nvidia.com/gpu":"1"},"conditions":[{"type":"Ready","status":"True"}]}},
 {"apiVersion":"v1","kind":"Node","metadata":{"name":"cpu-node"},"status":{"allocatable":{"cpu":"8"},"conditions":[{"type":"Ready","status":"True"}]}},
 {"apiVersion":"v1","kind":"Pod","metadata":{"name":"pending","namespace":"demo","labels":{"app":"gpu"}},"spec":{"containers":[{"name":"main","image":"x"}]},
  "status":{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"False","reason":"Unschedulable","message":"0/2 nodes are available: 2 Insufficient nvidia.com/gpu."}]}},
 {"apiVersion":"v1","kind":"Pod","metadata":{"name":"crashy","namespace":"demo"},"spec":{"containers":[{"name":"main","image":"x"}]},
  "status":{"phase":"Running","containerStatuses":[{"name":"main","ready":false,"restartCount":7,"state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}},
 {"apiVersion":"v1","kind":"Pod","metadata":{"name":"init-fail","namespace":"demo"},"spec":{"initContainers":[{"name":"check-csi-drivers","image":"x"}],"containers":[{"name":"manager","image":"x"}]},
  "status":{"phase":"Pending","initContainerStatuses":[{"name":"check-csi-drivers","ready":false,"restartCount":2,"state":{"terminated":{"exitCode":1,"reason":"Error","message":"S3 CSI driver not installed (missing CSIDriver s3.csi.aws.com)"}}}],
  "containerStatuses":[{"name":"manager","ready":false,"restartCount":0,"state":{"waiting":{"reason":"PodInitializing"}}}]}},
 {"apiVersion":"v1","kind":"Event","metadata":{"name":"pending.1","namespace":"demo"},"involvedObject":{"kind":"Pod","name":"pending","namespace":"demo"},
  "reason":"FailedScheduling","message":"0/2 nodes are available: 2 Insufficient nvidia.com/gpu.","type":"Warning","count":1}]}'
run k get nodes -o 'custom-columns=NAME:.metadata.name,GPU:.status.allocatable.nvidia\.com/gpu' --no-headers
has_line out "gpu-node   1"
run k get pods -n demo
has out "CrashLoopBackOff   7"
has out "Init:Error"
run k get pod pending -n demo -o jsonpath='{.status.conditions[0].reason}'
eq "$(cat "$WORK/out")" "Unschedulable"
run k get pod init-fail -n demo -o jsonpath='{.status.initContainerStatuses[0].state.terminated.message}'
eq "$(cat "$WORK/out")" "S3 CSI driver not installed (missing CSIDriver s3.csi.aws.com)"
run k get events -n demo --field-selector involvedObject.name=pending
has out "FailedScheduling"
has out "0/2 nodes are available: 2 Insufficient nvidia.com/gpu."
run k describe pod pending -n demo
has out "FailedScheduling"
ok

check "delete, and deleting a namespace removes its objects"
run k delete configmap settings
has_line out 'configmap "settings" deleted from default namespace'
run k delete namespace demo
run_fails 1 k get pod crashy -n demo
ok

check "hook force-delete bypasses finalizers"
run k patch jumpstartmodel my-bert-model-2 --type merge -p '{"metadata":{"finalizers":["example.com/stuck"]}}'
run hook DELETE /_emulator/objects/inference.sagemaker.aws.amazon.com/v1/default/jumpstartmodels/my-bert-model-2
run_fails 1 k get jumpstartmodel my-bert-model-2
ok

check "clusters are independent (path prefix /clusters/<id>)"
write_kubeconfig "$WORK/other.kubeconfig" other
KUBECONFIG="$WORK/other.kubeconfig" run k get namespaces -o name
eq "$(tr '\n' ' ' <"$WORK/out")" "namespace/default namespace/kube-node-lease namespace/kube-public namespace/kube-system "
KUBECONFIG="$WORK/other.kubeconfig" run_fails 1 k get jumpstartmodels
ok

check "CRD deletion removes its kinds from discovery"
run k delete crd sagemakerendpointregistrations.inference.sagemaker.aws.amazon.com
run k api-resources --api-group=inference.sagemaker.aws.amazon.com -o name
eq "$(tr '\n' ' ' <"$WORK/out")" "inferenceendpointconfigs.inference.sagemaker.aws.amazon.com jumpstartmodels.inference.sagemaker.aws.amazon.com "
ok

# ------------------------------------------------------------------------------------------
CHART="$WORK/chart"
mkdir -p "$CHART/templates" "$CHART/crds"
cat >"$CHART/Chart.yaml" <<'EOF'
apiVersion: v2
name: emu-check
version: 0.1.0
appVersion: "1.0"
EOF
printf 'replicas: 1\nimage: nginx:1.27\n' >"$CHART/values.yaml"
cat >"$CHART/crds/widgets.yaml" <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, listKind: WidgetList, plural: widgets, singular: widget, shortNames: [wd]}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer, minimum: 1}}}
EOF
cat >"$CHART/templates/all.yaml" <<'EOF'
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Release.Name }}-sa
  annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::123456789012:role/check"}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
  labels: {app.kubernetes.io/name: emu-check}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app.kubernetes.io/name: emu-check}}
  template:
    metadata: {labels: {app.kubernetes.io/name: emu-check}}
    spec:
      serviceAccountName: {{ .Release.Name }}-sa
      containers:
      - name: web
        image: {{ .Values.image }}
        ports: [{containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: {{ .Release.Name }}-svc}
spec:
  selector: {app.kubernetes.io/name: emu-check}
  ports: [{port: 80, targetPort: 80}]
EOF

check "helm upgrade --install --wait of a local chart (namespace-less Deployment + ServiceAccount + CRD in crds/)"
run "$HELM" upgrade --install rel "$CHART" -n helm-ns --create-namespace --wait --timeout 60s
has_line out "STATUS: deployed"
has_line out "REVISION: 1"
run k get deployment rel-web -n helm-ns -o jsonpath='{.status.readyReplicas}'
eq "$(cat "$WORK/out")" "1"
run k get crd widgets.example.com -o name
run k get sa rel-sa -n helm-ns -o jsonpath='{.metadata.annotations.eks\.amazonaws\.com/role-arn}'
eq "$(cat "$WORK/out")" "arn:aws:iam::123456789012:role/check"
ok

check "helm list -A -o json, helm status, helm get values -o json"
run "$HELM" list -A -o json
eq "$(json_get '[(r["name"], r["namespace"], r["revision"], r["status"]) for r in d]')" "[('rel', 'helm-ns', '1', 'deployed')]"
run "$HELM" status rel -n helm-ns
has_line out "STATUS: deployed"
run "$HELM" get values rel -n helm-ns -o json
eq "$(cat "$WORK/out")" "null"
ok

check "second helm upgrade --install: revision 2, new values, rollout done"
run "$HELM" upgrade --install rel "$CHART" -n helm-ns --wait --timeout 60s --set replicas=2
has_line out "REVISION: 2"
run "$HELM" get values rel -n helm-ns -o json
eq "$(cat "$WORK/out")" '{"replicas":2}'
run k get deployment rel-web -n helm-ns -o jsonpath='{.status.readyReplicas}'
eq "$(cat "$WORK/out")" "2"
ok

check "helm uninstall --wait removes the release and its objects"
run "$HELM" uninstall rel -n helm-ns --wait
has_line out 'release "rel" uninstalled'
run "$HELM" list -A -o json
eq "$(cat "$WORK/out")" "[]"
run k get deployments,services -n helm-ns -o name
eq "$(cat "$WORK/out")" ""
ok

echo "$PASSED passed, 0 failed"
