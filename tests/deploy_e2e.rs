//! Model endpoints end to end: the real binary, the real kubectl and aws CLI, the emulated
//! Kubernetes API with its stand-in inference operator, and the emulated SageMaker runtime.
//! Over 800 lines because of its data: the flag combinations and the invalid inputs are tables
//! (rustfmt puts one argument a line); the assertions go through `Run::exits`, `stdout_has`
//! and `stderr_has` (tests/common) and `with` below.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{cloud, Sandbox, BERT_INSTANCE_TYPE, BERT_MODEL_ID};
use serde_json::{json, Value};

const GUIDE_JUMPSTART: &[&str] = &[
    "deploy",
    "jumpstart",
    "--name",
    "my-bert-model",
    "--namespace",
    "default",
    "--model-id",
    BERT_MODEL_ID,
    "--endpoint-name",
    "my-bert-endpoint",
    "--instance-type",
    BERT_INSTANCE_TYPE,
    "--env",
    "SAMPLE_ENV_VAR=sample_value",
    "--max-deploy-time",
    "1800",
];

const GUIDE_CUSTOM: &[&str] = &[
    "deploy",
    "custom",
    "--name",
    "my-custom-model",
    "--namespace",
    "default",
    "--model-name",
    "llama-3-8b-instruct",
    "--endpoint-name",
    "my-custom-endpoint",
    "--instance-type",
    "ml.g5.24xlarge",
    "--invocation-endpoint",
    "v1/chat/completions",
    "--replicas",
    "1",
    "--model-source",
    "s3",
    "--s3-bucket",
    "my-model-bucket",
    "--s3-region",
    "us-west-2",
    "--model-location",
    "models/llama-3-8b",
    "--prefetch",
    "--image",
    "763104351884.dkr.ecr.us-west-2.amazonaws.com/djl-inference:0.32.0-lmi14.0.0-cu124",
    "--gpus",
    "4",
    "--cpu",
    "30",
    "--memory",
    "100Gi",
    "--container-port",
    "8000",
    "--env",
    "SAGEMAKER_ENV=1",
    "--env",
    "MODEL_CACHE_ROOT=/opt/ml/model",
    "--env",
    "OPTION_ROLLING_BATCH=vllm",
];

/// `base` with `extra` applied: a flag already in `base` gets the new value, others are added
/// (`--env` always adds).
fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = base.to_vec();
    let mut i = 0;
    while i < extra.len() {
        let flag = extra[i];
        let has_value = i + 1 < extra.len() && !is_flag(extra[i + 1]);
        match v.iter().position(|a| *a == flag) {
            Some(p) if has_value && flag != "--env" => v[p + 1] = extra[i + 1],
            _ => {
                v.push(flag);
                if has_value {
                    v.push(extra[i + 1]);
                }
            }
        }
        i += if has_value { 2 } else { 1 };
    }
    v
}

/// `--long` or `-x` (a value such as `-1` is not a flag).
fn is_flag(a: &str) -> bool {
    a.starts_with("--")
        || (a.len() == 2 && a.starts_with('-') && a.as_bytes()[1].is_ascii_alphabetic())
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/deploy_fixtures")
        .join(name)
}

fn fixture_value(name: &str) -> Value {
    yaml_to_json(&std::fs::read_to_string(fixture(name)).unwrap())
}

/// Parses YAML with the crate's own parser (a YAML library, not the code under test).
fn yaml_to_json(text: &str) -> Value {
    kubectl_hyperpod::render::parse_yaml(text).unwrap()
}

/// The guide's JumpStartModel with its environment variables where the v1 CRD has them.
fn guide_jumpstart_as_deployed() -> Value {
    let mut v = fixture_value("guide-jumpstart-model.yaml");
    let env = v["spec"]["server"]
        .as_object_mut()
        .unwrap()
        .remove("environmentVariables")
        .unwrap();
    v["spec"]["environmentVariables"] = env;
    v
}

/// The guide's InferenceEndpointConfig plus the model volume the v1 CRD requires.
fn guide_custom_as_deployed() -> Value {
    let mut v = fixture_value("guide-custom-model.yaml");
    v["spec"]["worker"]["modelVolumeMount"] =
        json!({"name": "model-weights", "mountPath": "/opt/ml/model"});
    v
}

/// A sandbox with a kubeconfig, the inference CRDs and the emulated operator in `mode`.
fn cluster(mode: &str, delay: f64) -> Sandbox {
    let sb = cloud().sandbox();
    sb.write_direct_kubeconfig();
    // The instance groups the guide's examples run on, besides the profile's ml.g5.8xlarge and
    // ml.c5.2xlarge: HyperPod's nodes for them (deploy's placement check reads the nodes).
    for (t, gpus) in [("ml.g5.24xlarge", 4), ("ml.g5.xlarge", 1)] {
        add_node(&sb, t, gpus);
    }
    sb.apply_reference_crds();
    sb.kube_config(json!({"modelOperator": mode, "modelDelaySeconds": delay}));
    sb
}

/// A schedulable HyperPod node of instance type `t` with `gpus` allocatable GPUs.
fn add_node(sb: &Sandbox, t: &str, gpus: u32) {
    let name = format!("hyperpod-i-{}", t.replace('.', "-"));
    let node = json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {
            "node.kubernetes.io/instance-type": t,
            "sagemaker.amazonaws.com/node-health-status": "Schedulable",
        }},
        "status": {
            "allocatable": {"cpu": "90", "memory": "300Gi", "nvidia.com/gpu": gpus.to_string()},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    });
    let file = sb.dir().join(format!("{name}.json"));
    std::fs::write(&file, node.to_string()).unwrap();
    sb.kubectl(&["apply", "-f", file.to_str().unwrap()])
        .success();
    // The API server keeps status only through its subresource (as a kubelet reports it).
    let status = json!({"status": node["status"]}).to_string();
    sb.kubectl(&[
        "patch",
        "node",
        &name,
        "--subresource=status",
        "--type=merge",
        "-p",
        &status,
    ])
    .success();
}

/// Every field the user gave is in the stored object, with the same value.
#[track_caller]
fn assert_contains(stored: &Value, wanted: &Value, path: &str) {
    match wanted {
        Value::Object(m) => {
            for (k, v) in m {
                assert!(
                    stored.get(k).is_some(),
                    "{path}.{k} missing from the stored object:\n{stored:#}"
                );
                assert_contains(&stored[k], v, &format!("{path}.{k}"));
            }
        }
        other => assert_eq!(stored, other, "{path}"),
    }
}

/// How many of the tool log's lines have `needle`.
fn count(log: &[String], needle: &str) -> usize {
    log.iter().filter(|l| l.contains(needle)).count()
}

fn kubectl_get(sb: &Sandbox, resource: &str, name: &str) -> Value {
    sb.kubectl_json(&["get", resource, name, "-n", "default"])
}

#[test]
fn guide_jumpstart_example_deploys_and_returns_within_a_second_of_completion() {
    // The operator stays silent: the test plays it, so it knows when the status changed.
    let sb = cluster("off", 0.2);
    let child = sb.spawn_hyperpod(GUIDE_JUMPSTART, &[]);
    sb.kubectl(&[
        "wait",
        "--for=create",
        "jumpstartmodel/my-bert-model",
        "-n",
        "default",
        "--timeout=60s",
    ])
    .success();
    let stored = kubectl_get(&sb, "jumpstartmodels", "my-bert-model");
    // Field by field: the guide's resource (env where the CRD has it), plus only CRD defaults.
    let want = guide_jumpstart_as_deployed();
    assert_contains(&stored["spec"], &want["spec"], "spec");
    assert_eq!(stored["metadata"]["name"], "my-bert-model");
    assert_eq!(stored["metadata"]["namespace"], "default");
    let spec_keys: Vec<&String> = stored["spec"].as_object().unwrap().keys().collect();
    for k in &spec_keys {
        let defaulted = ["replicas"].contains(&k.as_str());
        assert!(
            want["spec"].get(k.as_str()).is_some() || defaulted,
            "unexpected spec.{k}: {stored:#}"
        );
    }
    assert_eq!(stored["spec"]["model"]["acceptEula"], false);

    // In progress first, then complete (with the endpoint): deploy must not return before.
    let mut obj = stored.clone();
    obj["status"] = json!({"deploymentStatus": {"deploymentObjectOverallState": "DeploymentInProgress",
        "name": "my-bert-model", "lastUpdated": "2025-01-01T00:00:00Z",
        "reason": "DeploymentInProgress", "message": "Creating the endpoint"}});
    sb.kube_objects(obj.clone());
    obj["status"] = json!({"deploymentStatus": {"deploymentObjectOverallState": "DeploymentComplete",
        "name": "my-bert-model", "lastUpdated": "2025-01-01T00:00:00Z"}});
    sb.kube_objects(obj.clone());
    // Overall complete but the SageMaker endpoint not yet: still waiting.
    obj["status"]["endpoints"] = json!({"sagemaker": {"state": "CreationCompleted",
        "endpointArn": "arn:aws:sagemaker:us-west-2:123456789012:endpoint/my-bert-endpoint"}});
    let completed = Instant::now();
    sb.kube_objects(obj);
    let (run, ended) = child.finish();
    run.success();
    let lag = ended.saturating_duration_since(completed);
    assert!(
        lag < Duration::from_secs(1),
        "returned {lag:?} after completion\n{}",
        run.describe()
    );
    run.stdout_has(&["jumpstartmodel default/my-bert-model is serving"]);
    run.stderr_has(&[
        "jumpstartmodel default/my-bert-model created",
        "DeploymentInProgress",
        "endpoint my-bert-endpoint: not created yet",
    ]);
    // One apply, and the wait was a watch, not a loop of gets.
    let log = sb.tool_log_lines();
    assert_eq!(count(&log, " apply "), 1, "{log:#?}");
    assert_eq!(count(&log, "--watch"), 1, "{log:#?}");
}

#[test]
fn guide_custom_example_deploys_with_the_model_volume_and_the_guide_yaml_is_rejected() {
    let sb = cluster("complete", 0.3);
    let run = sb.hyperpod(GUIDE_CUSTOM);
    run.success();
    let stored = kubectl_get(&sb, "inferenceendpointconfigs", "my-custom-model");
    let want = guide_custom_as_deployed();
    assert_contains(&stored["spec"], &want["spec"], "spec");
    assert_eq!(
        stored["status"]["deploymentStatus"]["deploymentObjectOverallState"],
        "DeploymentComplete"
    );
    assert_eq!(
        stored["status"]["endpoints"]["sagemaker"]["state"],
        "CreationCompleted"
    );

    // The guide's own YAML: rejected before anything runs, naming the missing field.
    sb.clear_tool_log();
    let path = fixture("guide-custom-model.yaml");
    let run = sb.hyperpod(&["deploy", "-f", path.to_str().unwrap()]);
    run.exits(2).stderr_has(&[
        "spec.worker.modelVolumeMount in ",
        "guide-custom-model.yaml: is required",
    ]);
    assert!(sb.tool_log().is_empty(), "{:?}", sb.tool_log());

    // The guide's JumpStart YAML too: its environment variables are where the CRD has none.
    let path = fixture("guide-jumpstart-model.yaml");
    let run = sb.hyperpod(&["deploy", "-f", path.to_str().unwrap(), "-o", "json"]);
    run.exits(2);
    let e = run.json();
    assert_eq!(e["error"]["kind"], "invalid_input");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with(&format!(
            "invalid spec.server.environmentVariables in {}: unknown field",
            path.display()
        )));
    assert!(sb.tool_log().is_empty());

    // Both corrected files deploy with -f, with the same validation and waiting.
    let fixed = sb.dir().join("fixed.yaml");
    let mut jm = guide_jumpstart_as_deployed();
    jm["metadata"]["name"] = json!("from-file");
    std::fs::write(&fixed, serde_json::to_string(&jm).unwrap()).unwrap();
    let run = sb.hyperpod(&["deploy", "-f", fixed.to_str().unwrap(), "-o", "json"]);
    run.success();
    let r = run.json();
    assert_eq!(r["outcome"], "complete");
    assert_eq!(r["action"], "created");
    assert_eq!(r["kind"], "JumpStartModel");
}

#[test]
fn redeploying_unchanged_is_a_no_op_and_a_change_is_an_update() {
    let sb = cluster("complete", 0.2);
    sb.hyperpod(GUIDE_JUMPSTART).success();
    sb.clear_tool_log();
    let run = sb.hyperpod(GUIDE_JUMPSTART);
    run.success();
    run.stderr_has(&["unchanged (nothing to apply)"])
        .stdout_has(&["[unchanged: nothing was applied]"]);
    assert!(
        !sb.tool_log_lines().iter().any(|l| l.contains(" apply ")),
        "{:#?}",
        sb.tool_log_lines()
    );
    let before = kubectl_get(&sb, "jumpstartmodels", "my-bert-model");
    assert_eq!(before["metadata"]["generation"], 1);

    let run = sb.hyperpod(&with(GUIDE_JUMPSTART, &["--replicas", "2", "-o", "json"]));
    run.success();
    let r = run.json();
    assert_eq!(r["action"], "updated");
    assert_eq!(r["outcome"], "complete");
    let after = kubectl_get(&sb, "jumpstartmodels", "my-bert-model");
    assert_eq!(after["metadata"]["generation"], 2);
    assert_eq!(after["spec"]["replicas"], 2);
    assert_eq!(after["status"]["observedGeneration"], 2);
}

fn pending_gpu_pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("{name}-7d4b9c-x2x9k"), "namespace": "default", "labels": {"app": name}},
        "spec": {"containers": [{"name": "inference-server", "image": "img"}]},
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
            "reason": "Unschedulable",
            "message": "0/2 nodes are available: 2 Insufficient nvidia.com/gpu. preemption: 0/2 nodes are available"}]}})
}

fn scheduling_event(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{name}.17a0"), "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": format!("{name}-7d4b9c-x2x9k"), "namespace": "default"},
        "reason": "FailedScheduling", "type": "Warning", "count": 3,
        "message": "0/2 nodes are available: 2 Insufficient nvidia.com/gpu.",
        "lastTimestamp": "2025-01-01T00:00:00Z"})
}

#[test]
fn a_failed_deployment_says_why_and_exits_1() {
    let sb = cluster("fail", 0.3);
    sb.kube_config(json!({"modelFailReason": "InsufficientCapacity",
        "modelFailMessage": "no ml.g5.24xlarge capacity for 1 replica"}));
    sb.kube_objects(json!([
        pending_gpu_pod("my-custom-model"),
        scheduling_event("my-custom-model")
    ]));
    let run = sb.hyperpod(GUIDE_CUSTOM);
    run.exits(1).stderr_has(&[
        "deployment of inferenceendpointconfig default/my-custom-model failed: InsufficientCapacity: no ml.g5.24xlarge capacity for 1 replica",
        "reason:   InsufficientCapacity",
        "FailedScheduling Pod/my-custom-model-7d4b9c-x2x9k: 0/2 nodes are available: 2 Insufficient nvidia.com/gpu.",
        "my-custom-model-7d4b9c-x2x9k Pending ready 0/1 restarts 0 Unschedulable: 0/2 nodes are available",
        "hint: no node has enough free GPUs",
    ]);

    // The same as one JSON document: the error and the report with its diagnosis.
    let run = sb.hyperpod(&with(GUIDE_CUSTOM, &["-o", "json"]));
    run.exits(1);
    let doc = run.json();
    assert_eq!(doc["error"]["kind"], "failed");
    assert_eq!(doc["error"]["exit_code"], 1);
    assert_eq!(doc["report"]["outcome"], "failed");
    assert_eq!(doc["report"]["action"], "unchanged");
    let d = &doc["report"]["diagnostics"];
    assert_eq!(d["reason"], "InsufficientCapacity");
    assert_eq!(d["pods"][0]["reason"], "Unschedulable");
    assert_eq!(d["events"][0]["reason"], "FailedScheduling");
}

#[test]
fn a_deployment_nobody_answers_times_out_with_exit_6() {
    let sb = cluster("off", 0.2);
    let run = sb.hyperpod(&with(GUIDE_JUMPSTART, &["--timeout", "2s"]));
    run.exits(6).stderr_has(&[
        "timed out after 2s waiting for jumpstartmodel default/my-bert-model to deploy",
        "the inference operator has not reported on this resource",
    ]);

    // --no-wait returns at once with what was applied.
    let args = ["--name", "second", "--no-wait", "-o", "json"];
    let run = sb.hyperpod(&with(GUIDE_JUMPSTART, &args));
    run.success();
    assert_eq!(run.json()["outcome"], "applied");
    assert!(!sb
        .tool_log_lines()
        .iter()
        .any(|l| l.contains("second") && l.contains("--watch")));
}

#[test]
fn get_describe_logs_invoke_and_delete() {
    // Over 80 lines: one model through its whole life (get, describe, logs, invoke, delete) on one cluster, in order.
    let sb = cluster("complete", 0.2);
    sb.hyperpod(GUIDE_JUMPSTART).success();
    sb.hyperpod(GUIDE_CUSTOM).success();

    // get: both kinds in one table, and as JSON.
    let run = sb.hyperpod(&["get"]);
    run.success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("NAME")
            && lines[0].contains("INSTANCE TYPE")
            && lines[0].contains("AGE"),
        "{}",
        run.stdout
    );
    run.stdout_has(&[
        "my-bert-model",
        "JumpStartModel",
        "ml.c5.2xlarge",
        "my-custom-model",
        "InferenceEndpointConfig",
        "llama-3-8b-instruct",
        "DeploymentComplete",
        "CreationCompleted",
    ]);
    let items = sb.hyperpod(&["list", "-A", "-o", "json"]).json()["items"].clone();
    assert_eq!(items.as_array().unwrap().len(), 2, "{items:#}");
    assert_eq!(items[0]["namespace"], "default");
    assert_eq!(items[0]["endpoint_state"], "CreationCompleted");
    let empty = sb.hyperpod(&["get", "-n", "other", "-o", "json"]);
    assert_eq!(empty.json()["items"], json!([]));

    // describe
    let run = sb.hyperpod(&["describe", "my-bert-model"]);
    run.success();
    run.stdout_has(&[
        "Kind:          JumpStartModel",
        "State:         DeploymentComplete",
        "Endpoint:      my-bert-endpoint (CreationCompleted)",
        "Conditions:",
        "Events:",
        "Pods (app=my-bert-model):",
    ]);
    let d = sb
        .hyperpod(&["describe", "my-custom-model", "-o", "json"])
        .json();
    assert_eq!(d["summary"]["kind"], "InferenceEndpointConfig");
    assert_eq!(d["summary"]["state"], "DeploymentComplete");
    assert_eq!(d["pods"][0]["phase"], "Running");
    assert_eq!(d["resource"]["spec"]["modelName"], "llama-3-8b-instruct");
    let missing = sb.hyperpod(&["describe", "nope"]);
    missing
        .exits(1)
        .stderr_has(&["no model endpoint named nope in namespace default"]);

    // logs of the model's pods (created by the emulated operator, labelled app=<name>)
    let pods = sb.kubectl_json(&["get", "pods", "-n", "default", "-l", "app=my-bert-model"]);
    let pod = pods["items"][0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    sb.kube_logs("default", &pod, None, "model loaded\nserving on :8080\n");
    let run = sb.hyperpod(&["logs", "my-bert-model"]);
    run.success();
    assert_eq!(run.stdout, "model loaded\nserving on :8080\n");
    let j = sb.hyperpod(&["logs", "my-bert-model", "-o", "json"]).json();
    assert_eq!(j["logs"][0]["pod"], pod.as_str());
    assert_eq!(j["logs"][0]["text"], "model loaded\nserving on :8080\n");
    // the operator's logs: its namespace and selector, not the guide's
    sb.kube_objects(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "hyperpod-inference-operator-controller-manager-abc", "namespace": "hyperpod-inference-system",
            "labels": {"control-plane": "hyperpod-inference-operator-controller-manager"}},
        "spec": {"containers": [{"name": "manager", "image": "op"}]}, "status": {"phase": "Running"}}));
    sb.kube_logs(
        "hyperpod-inference-system",
        "hyperpod-inference-operator-controller-manager-abc",
        None,
        "reconciled my-bert-model\n",
    );
    let run = sb.hyperpod(&["logs", "--operator"]);
    run.success();
    assert_eq!(run.stdout, "reconciled my-bert-model\n");

    // invoke through the (emulated) SageMaker runtime
    let run = sb.hyperpod(&[
        "invoke",
        "my-bert-model",
        "--body",
        r#"{"question": "hi?"}"#,
        "-o",
        "json",
    ]);
    run.success();
    let r = run.json();
    assert_eq!(r["endpoint"], "my-bert-endpoint");
    assert_eq!(r["region"], "us-west-2");
    assert!(r["body"].is_string() || r["body"].is_object(), "{r}");
    let call = sb
        .tool_log()
        .into_iter()
        .find(|c| c[0] == "aws" && c.iter().any(|a| a == "invoke-endpoint"))
        .expect("an invoke-endpoint call");
    assert!(call.iter().any(|a| a == "my-bert-endpoint"));
    assert!(call.iter().any(|a| a.starts_with("fileb://")), "{call:?}");
    let bad = sb.hyperpod(&["invoke", "my-bert-model", "--body", "{not json"]);
    bad.exits(2).stderr_has(&["invalid --body: must be JSON"]);

    // invoke before the endpoint is in service: a clear error
    sb.kube_config(json!({"modelOperator": "off"}));
    sb.hyperpod(&with(GUIDE_JUMPSTART, &["--name", "not-yet", "--no-wait"]))
        .success();
    let run = sb.hyperpod(&["invoke", "not-yet", "--body", "{}"]);
    run.exits(1).stderr_has(&["the SageMaker endpoint my-bert-endpoint of jumpstartmodel default/not-yet is not InService yet"]);

    // delete waits for the operator's finalizer
    sb.kube_config(json!({"modelOperator": "complete"}));
    let run = sb.hyperpod(&["delete", "my-bert-model", "-o", "json"]);
    run.success();
    let r = run.json();
    assert_eq!(r["deleted"], true);
    assert_eq!(r["kind"], "JumpStartModel");
    let gone = sb.kubectl(&["get", "jumpstartmodel", "my-bert-model", "-n", "default"]);
    gone.stderr_has(&["NotFound"]);
    let run = sb.hyperpod(&["delete", "my-custom-model"]);
    run.success();
    run.stdout_has(&["inferenceendpointconfig default/my-custom-model deleted"]);
    let run = sb.hyperpod(&["delete", "my-custom-model"]);
    run.exits(1);
}

#[test]
fn dry_run_needs_no_cluster_and_no_tools() {
    let sb = cloud().sandbox();
    let args = with(GUIDE_CUSTOM, &["--dry-run", "--offline", "-o", "json"]);
    let run = sb.hyperpod_with(&args, &[("PATH", "/nonexistent")]);
    run.success();
    assert_eq!(run.json(), guide_custom_as_deployed());
    let args = with(GUIDE_JUMPSTART, &["--dry-run", "--offline"]);
    let run = sb.hyperpod_with(&args, &[("PATH", "/nonexistent")]);
    run.success();
    assert_eq!(yaml_to_json(&run.stdout), guide_jumpstart_as_deployed());
    assert!(sb.tool_log().is_empty());
    // Without --dry-run kubectl is required; so it is for --dry-run's placement check; --offline
    // without --dry-run is refused.
    let run = sb.hyperpod_with(GUIDE_JUMPSTART, &[("PATH", "/nonexistent")]);
    run.exits(3).stderr_has(&["kubectl"]);
    let run = sb.hyperpod_with(
        &with(GUIDE_JUMPSTART, &["--dry-run"]),
        &[("PATH", "/nonexistent")],
    );
    run.exits(3).stderr_has(&["--skip-placement-check"]);
    sb.hyperpod(&with(GUIDE_JUMPSTART, &["--offline"]))
        .exits(2)
        .stderr_has(&["--offline"]);
}

/// Before anything is created, the instance type must be one the cluster has schedulable nodes
/// of, with the GPUs one replica needs; the refusal lists what the cluster has, and no apply is made.
#[test]
fn a_model_the_cluster_cannot_place_is_refused_before_it_is_created() {
    let sb = cluster("complete", 0.2);
    sb.clear_tool_log();
    let mut args: Vec<&str> = GUIDE_JUMPSTART.to_vec();
    let i = args.iter().position(|a| *a == BERT_INSTANCE_TYPE).unwrap();
    args[i] = "ml.p4d.24xlarge";
    let run = sb.hyperpod(&args);
    run.exits(2).stderr_has(&[
        "--instance-type",
        "ml.p4d.24xlarge: the cluster has no node of that type",
        &format!("ml.p4d.24xlarge: JumpStart model {BERT_MODEL_ID} does not support it"),
        "ml.c5.2xlarge (1 node(s), no GPU)",
        "ml.g5.8xlarge (1 node(s), 1 GPU(s) per node)",
        "--skip-placement-check",
    ]);
    // ml.g5.24xlarge has nodes, but the model does not support it: not a choice.
    assert!(
        !run.stderr.contains("ml.g5.24xlarge ("),
        "{}",
        run.describe()
    );
    // Too many GPUs for the type's nodes.
    let mut custom: Vec<&str> = GUIDE_CUSTOM.to_vec();
    let i = custom.iter().position(|a| *a == "--gpus").unwrap();
    custom[i + 1] = "8";
    sb.hyperpod(&custom)
        .exits(2)
        .stderr_has(&["ml.g5.24xlarge: one replica needs 8 GPU(s), its nodes have at most 4"]);
    let log = sb.tool_log_lines();
    assert!(
        !log.iter().any(|l| l.contains(" apply")),
        "applied although unplaceable:\n{}",
        log.join("\n")
    );
    assert!(
        log.iter().any(|l| l.contains("get nodes")),
        "{}",
        log.join("\n")
    );
    // Skipped on request: the model is created (and the stand-in operator completes it).
    sb.hyperpod(&with(&args, &["--skip-placement-check"]))
        .success();
}

/// On a new HyperPod cluster (`fresh`: instance groups ml.g5.8xlarge and ml.c5.2xlarge), a
/// JumpStart model is checked against the HyperPod cluster's instance groups (describe-cluster)
/// and the types the model supports (describe-hub-content), each read once, before anything is
/// applied; the refusals list the valid choices.
#[test]
fn jumpstart_placement_follows_the_instance_groups_and_the_models_types() {
    let sb = cloud().sandbox();
    sb.write_direct_kubeconfig();
    sb.apply_reference_crds();
    sb.kube_config(json!({"modelOperator": "complete", "modelDelaySeconds": 0.2}));
    let js = |t: &'static str| -> Vec<String> {
        let mut a: Vec<String> = GUIDE_JUMPSTART.iter().map(|s| s.to_string()).collect();
        let i = a.iter().position(|x| x == "ml.c5.2xlarge").unwrap();
        a[i] = t.into();
        a.extend(["--hyperpod-cluster".into(), sb.hyperpod_cluster.clone()]);
        a
    };
    let run_js = |t: &'static str| {
        let a = js(t);
        sb.hyperpod(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    sb.clear_tool_log();
    // A type the model supports but the cluster has no instance group of.
    let lacks = run_js("ml.g5.2xlarge");
    lacks.exits(2).stderr_has(&[
        "invalid --instance-type",
        &format!(
            "ml.g5.2xlarge: not an instance group of HyperPod cluster {}",
            sb.hyperpod_cluster
        ),
        &format!(
            "HyperPod cluster {}'s instance groups are ml.c5.2xlarge, ml.g5.8xlarge",
            sb.hyperpod_cluster
        ),
        "the cluster can place it on ml.c5.2xlarge (1 node(s), no GPU)",
    ]);
    // A type the cluster has but the model does not support: an LLM on the CPU group.
    let mut a = js("ml.c5.2xlarge");
    let i = a.iter().position(|x| x == BERT_MODEL_ID).unwrap();
    a[i] = "meta-textgeneration-llama-3-8b".into();
    a.push("--accept-eula".into());
    let unsupported = sb.hyperpod(&a.iter().map(String::as_str).collect::<Vec<_>>());
    unsupported.exits(2).stderr_has(&[
        "ml.c5.2xlarge: JumpStart model meta-textgeneration-llama-3-8b does not support it",
        "meta-textgeneration-llama-3-8b supports ml.g5.2xlarge, ml.g5.4xlarge, ml.g5.8xlarge",
        "the cluster can place it on ml.g5.8xlarge (1 node(s), 1 GPU(s) per node)",
    ]);
    assert!(
        !unsupported.stderr.contains("not an instance group"),
        "{}",
        unsupported.describe()
    );
    let log = sb.tool_log_lines();
    assert!(
        !log.iter().any(|l| l.contains(" apply")),
        "applied although unplaceable:\n{}",
        log.join("\n")
    );
    // Per run: one read each of the nodes, the instance groups and the model's types.
    for what in ["get nodes", "describe-cluster", "describe-hub-content"] {
        assert_eq!(count(&log, what), 2, "{what}:\n{}", log.join("\n"));
    }
    // An unknown public model is refused by name.
    let mut a = js("ml.c5.2xlarge");
    let i = a.iter().position(|x| x == BERT_MODEL_ID).unwrap();
    a[i] = "huggingface-eqa-no-such-model".into();
    sb.hyperpod(&a.iter().map(String::as_str).collect::<Vec<_>>())
        .exits(2)
        .stderr_has(&[
            "--model-id",
            "public hub has no model huggingface-eqa-no-such-model",
        ]);
    // The type both allow deploys.
    run_js("ml.c5.2xlarge").success();
}

/// Flag combinations: each renders a resource that the CRD schema accepts (checked by the
/// plugin offline, and by the emulated API server's own schema validation on a server dry run).
#[test]
fn every_flag_combination_renders_schema_valid_resources() {
    // Over 80 lines: a table of flag combinations (rustfmt puts one argument a line).
    let sb = cluster("off", 1.0);
    let base_js = with(
        &common::bert_deploy_args("m"),
        &["--instance-type", "ml.g5.xlarge"],
    );
    let base_c: Vec<&str> = vec![
        "deploy",
        "custom",
        "--name",
        "c",
        "--model-name",
        "m1",
        "--instance-type",
        "ml.g5.xlarge",
        "--image",
        "763104351884.dkr.ecr.us-west-2.amazonaws.com/djl-inference:0.32.0",
        "--container-port",
        "8080",
    ];
    let extra_js: Vec<Vec<&str>> = vec![
        vec![],
        vec!["--accept-eula", "--model-version", "2.1.0"],
        vec!["--endpoint-name", "ep-1", "--replicas", "0"],
        vec![
            "--env",
            "A=1",
            "--env",
            "B=x y",
            "--env",
            "JSON={\"k\": [1,2]}",
            "--env",
            "REF=$(A)",
        ],
        vec![
            "--tls-output-s3-uri",
            "s3://tls-bucket/certs/out",
            "--max-deploy-time",
            "1h",
        ],
        vec![
            "--gated-model-role",
            "arn:aws:iam::123456789012:role/GatedModelRole",
        ],
        vec![
            "--min-replicas",
            "1",
            "--max-replicas",
            "3",
            "--metric-name",
            "Invocations",
            "--metric-namespace",
            "AWS/SageMaker",
            "--target-value",
            "50",
        ],
        vec![
            "--max-replicas",
            "10",
            "--metric-name",
            "GPUUtil",
            "--metric-namespace",
            "Custom/Models",
            "--metric-dimension",
            "Model=m",
            "--metric-dimension",
            "Tier=a b",
            "--target-value",
            "0.75",
            "--metric-stat",
            "p90",
            "--metric-type",
            "Value",
            "--cooldown-period",
            "60",
        ],
    ];
    let extra_c: Vec<Vec<&str>> = vec![
        vec!["--model-source", "s3", "--s3-bucket", "weights"],
        vec![
            "--model-source",
            "s3",
            "--s3-bucket",
            "weights",
            "--s3-region",
            "eu-west-1",
            "--model-location",
            "a/b/c",
            "--prefetch",
        ],
        vec![
            "--model-source",
            "fsx",
            "--fsx-file-system-id",
            "fs-0123456789abcdef0",
        ],
        vec![
            "--model-source",
            "fsx",
            "--fsx-file-system-id",
            "fs-01234567",
            "--fsx-dns-name",
            "fs-01234567.fsx.us-west-2.amazonaws.com",
            "--fsx-mount-name",
            "abcdefgh",
            "--model-location",
            "/models/x",
        ],
        vec![
            "--model-source",
            "s3",
            "--s3-bucket",
            "w11",
            "--cpu",
            "500m",
            "--memory",
            "2Gi",
            "--cpu-limit",
            "1",
            "--memory-limit",
            "4Gi",
            "--gpus",
            "1",
        ],
        vec![
            "--model-source",
            "s3",
            "--s3-bucket",
            "w11",
            "--port-name",
            "grpc",
            "--model-volume-name",
            "weights",
            "--model-mount-path",
            "/mnt/w",
        ],
        vec![
            "--model-source",
            "s3",
            "--s3-bucket",
            "w11",
            "--endpoint-name",
            "ep-2",
            "--invocation-endpoint",
            "invocations",
            "--replicas",
            "3",
            "--model-version",
            "1.0.0-rc1",
        ],
        vec![
            "--model-source",
            "s3",
            "--s3-bucket",
            "w11",
            "--tls-output-s3-uri",
            "s3://tls",
            "--max-deploy-time",
            "900",
            "--min-replicas",
            "0",
            "--max-replicas",
            "2",
            "--metric-name",
            "Invocations",
            "--metric-namespace",
            "AWS/SageMaker",
            "--target-value",
            "5",
        ],
    ];
    let mut combos: Vec<Vec<&str>> = Vec::new();
    for e in &extra_js {
        let mut a = base_js.clone();
        a.extend(e.iter().copied());
        combos.push(a);
    }
    for e in &extra_c {
        let mut a = base_c.clone();
        a.extend(e.iter().copied());
        combos.push(a);
    }
    for args in combos {
        let mut a = args.clone();
        a.extend(["--dry-run", "-o", "json"]);
        let run = sb.hyperpod(&a);
        run.exits(0);
        let file = sb.dir().join("combo.json");
        std::fs::write(&file, &run.stdout).unwrap();
        let server = sb.kubectl(&["apply", "--dry-run=server", "-f", file.to_str().unwrap()]);
        assert_eq!(
            server.code,
            0,
            "the API server rejects {args:?}:\n{}",
            server.describe()
        );
    }
}

/// Bad input is refused with an error naming the flag or field, before any tool runs.
#[test]
fn invalid_inputs_are_rejected_before_any_command() {
    // Over 80 lines: a table of invalid inputs and the flag each must name.
    let sb = cloud().sandbox();
    let js_base = with(
        &common::bert_deploy_args("m"),
        &["--instance-type", "ml.g5.xlarge"],
    );
    let custom_base = [
        "deploy",
        "custom",
        "--name",
        "c",
        "--model-name",
        "m1",
        "--instance-type",
        "ml.g5.xlarge",
        "--image",
        "repo/img:1",
        "--container-port",
        "8080",
        "--model-source",
        "s3",
        "--s3-bucket",
        "weights",
    ];
    let js = |extra: &[&'static str]| with(&js_base, extra);
    let custom = |extra: &[&'static str]| with(&custom_base, extra);
    let bad_yaml = sb.dir().join("bad.yaml");
    std::fs::write(
        &bad_yaml,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n",
    )
    .unwrap();
    let typo = sb.dir().join("typo.yaml");
    std::fs::write(&typo, "apiVersion: inference.sagemaker.aws.amazon.com/v1\nkind: JumpStartModel\nmetadata: {name: t}\nspec:\n  model: {modelId: x}\n  server: {instanceType: ml.g5.xlarge}\n  replica: 2\n").unwrap();
    let bad_type = sb.dir().join("type.yaml");
    std::fs::write(&bad_type, "apiVersion: inference.sagemaker.aws.amazon.com/v1\nkind: JumpStartModel\nmetadata: {name: t}\nspec:\n  model: {modelId: x, acceptEula: \"yes\"}\n  server: {instanceType: ml.g5.xlarge}\n").unwrap();
    let two = sb.dir().join("two.yaml");
    std::fs::write(&two, "a: 1\n---\nb: 2\n").unwrap();
    let (bad_yaml, typo, bad_type, two) = (
        bad_yaml.to_str().unwrap().to_string(),
        typo.to_str().unwrap().to_string(),
        bad_type.to_str().unwrap().to_string(),
        two.to_str().unwrap().to_string(),
    );
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (js(&["--name", "My_Model"]), "--name"),
        (js(&["--name", "a.b"]), "--name"),
        (js(&["--name", "x; rm -rf /"]), "--name"),
        (js(&["--namespace", "Bad NS"]), "--namespace"),
        (js(&["--instance-type", "c5.2xlarge"]), "--instance-type"),
        (js(&["--instance-type", "ml.g5"]), "--instance-type"),
        (js(&["--instance-type", "ml.G5.xlarge"]), "--instance-type"),
        (js(&["--model-id", "bert-"]), "--model-id"),
        (js(&["--model-id", "bert/base"]), "--model-id"),
        (js(&["--model-version", "v1"]), "--model-version"),
        (js(&["--env", "NOEQUALS"]), "--env"),
        (js(&["--env", "1BAD=x"]), "--env"),
        (js(&["--env", "A\"B=x"]), "--env"),
        (js(&["--env", "A=line1\nline2"]), "--env"),
        (js(&["--env", "A=${HOME}/x"]), "--env"),
        (js(&["--env", "A=\"quoted\""]), "--env"),
        (js(&["--env", "A=1", "--env", "A=2"]), "--env"),
        (js(&["--replicas", "-1"]), "--replicas"),
        (js(&["--replicas", "3000000000"]), "--replicas"),
        (js(&["--endpoint-name", "my_endpoint"]), "--endpoint-name"),
        (
            js(&["--tls-output-s3-uri", "https://bucket/x"]),
            "--tls-output-s3-uri",
        ),
        (
            js(&["--tls-output-s3-uri", "s3://Bad_Bucket/x"]),
            "--tls-output-s3-uri",
        ),
        (js(&["--max-deploy-time", "soon"]), "--max-deploy-time"),
        (js(&["--max-deploy-time", "0"]), "--max-deploy-time"),
        (
            js(&["--gated-model-role", "arn:aws:iam::123:role/x"]),
            "--gated-model-role",
        ),
        (js(&["--max-replicas", "3"]), "--metric-name"),
        (
            js(&[
                "--min-replicas",
                "5",
                "--max-replicas",
                "2",
                "--metric-name",
                "I",
                "--metric-namespace",
                "N",
                "--target-value",
                "1",
            ]),
            "--min-replicas",
        ),
        (
            js(&[
                "--metric-name",
                "I",
                "--metric-namespace",
                "N",
                "--target-value",
                "-3",
            ]),
            "--target-value",
        ),
        (
            js(&[
                "--metric-name",
                "I",
                "--metric-namespace",
                "N",
                "--target-value",
                "1",
                "--metric-type",
                "Sum",
            ]),
            "--metric-type",
        ),
        (js(&["--timeout", "forever"]), "--timeout"),
        (custom(&["--image", "bad image"]), "--image"),
        (custom(&["--container-port", "70000"]), "--container-port"),
        (custom(&["--gpus", "0"]), "--gpus"),
        (custom(&["--memory", "lots"]), "--memory"),
        (custom(&["--cpu=-2"]), "--cpu"),
        (
            custom(&["--s3-bucket", "s3://weights/models"]),
            "--s3-bucket",
        ),
        (custom(&["--s3-region", "mars-1"]), "--s3-region"),
        (
            custom(&["--model-location", "s3://weights/models"]),
            "--model-location",
        ),
        (
            custom(&["--model-location", "../../etc"]),
            "--model-location",
        ),
        (
            custom(&["--invocation-endpoint", "/v1/chat"]),
            "--invocation-endpoint",
        ),
        (custom(&["--port-name", "tcp"]), "--port-name"),
        (
            custom(&["--model-mount-path", "relative/path"]),
            "--model-mount-path",
        ),
        (
            custom(&["--fsx-file-system-id", "fs-123"]),
            "--fsx-file-system-id",
        ),
        (
            vec![
                "deploy",
                "custom",
                "--name",
                "c",
                "--model-name",
                "m1",
                "--instance-type",
                "ml.g5.xlarge",
                "--image",
                "repo/img:1",
                "--container-port",
                "8080",
                "--model-source",
                "fsx",
                "--fsx-file-system-id",
                "fs-zz",
            ],
            "--fsx-file-system-id",
        ),
        (vec!["deploy", "-f", &bad_yaml], "kind"),
        (vec!["deploy", "-f", &typo], "spec.replica"),
        (vec!["deploy", "-f", &bad_type], "spec.model.acceptEula"),
        (vec!["deploy", "-f", &two], "--filename"),
        (
            vec!["deploy", "-f", "/nonexistent/model.yaml"],
            "--filename",
        ),
        (vec!["deploy"], "--filename"),
        (vec!["describe", "Bad_Name"], "NAME"),
        (vec!["delete", "x", "--timeout=-5"], "--timeout"),
        (vec!["logs", "m", "--tail", "-7"], "--tail"),
        (vec!["invoke", "m", "--body", "{\"a\": "], "--body"),
        (
            vec!["invoke", "m", "--body", "{}", "--content-type", "nonsense"],
            "--content-type",
        ),
        (vec!["get", "-n", "UPPER"], "--namespace"),
    ];
    assert!(cases.len() >= 30);
    let cases: Vec<(Vec<String>, &str)> = cases
        .into_iter()
        .map(|(a, f)| (a.into_iter().map(str::to_string).collect(), f))
        .collect();
    for (args, field) in cases {
        sb.clear_tool_log();
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = sb.hyperpod(&argv);
        assert_eq!(run.code, 2, "{args:?}\n{}", run.describe());
        let named = run.stderr.contains(&format!("invalid {field}: "))
            || run.stderr.contains(&format!("'{field}")) // clap's own messages
            || run.stderr.contains(&format!("invalid {field}["))
            || run.stderr.contains(&format!("invalid {field} in ")); // a manifest field, with its file
        assert!(
            named,
            "{args:?}: the error does not name {field}:\n{}",
            run.describe()
        );
        assert!(sb.tool_log().is_empty(), "{args:?} ran {:?}", sb.tool_log());
    }
}

#[test]
fn missing_crds_ambiguous_names_followed_logs_and_a_failed_deletion() {
    // No CRDs: get warns and lists nothing; the others say what is missing.
    let sb = cloud().sandbox();
    sb.write_direct_kubeconfig();
    let run = sb.hyperpod(&["get"]);
    run.success();
    run.stderr_has(&["CRDs are not installed"]);
    let run = sb.hyperpod(&["describe", "m"]);
    run.exits(1)
        .stderr_has(&["custom resource definition is not installed"]);
    let run = sb.hyperpod(GUIDE_JUMPSTART);
    run.exits(1).stderr_has(&["kubectl hyperpod setup"]);

    let sb = cluster("complete", 0.2);
    // Both kinds under one name: --kind chooses.
    sb.hyperpod(&with(GUIDE_JUMPSTART, &["--name", "twin"]))
        .success();
    sb.hyperpod(&with(GUIDE_CUSTOM, &["--name", "twin"]))
        .success();
    let run = sb.hyperpod(&["describe", "twin"]);
    run.exits(2).stderr_has(&["--kind"]);
    let d = sb.hyperpod(&["describe", "twin", "--kind", "custom", "-o", "json"]);
    assert_eq!(d.json()["summary"]["kind"], "InferenceEndpointConfig");

    // Followed logs: one JSON object per line under -o json.
    let pods = sb.kubectl_json(&["get", "pods", "-n", "default", "-l", "app=twin"]);
    for p in pods["items"].as_array().unwrap() {
        let name = p["metadata"]["name"].as_str().unwrap();
        sb.kube_logs("default", name, None, "ready\n");
    }
    let run = sb.hyperpod(&["logs", "twin", "-f", "-o", "json"]);
    run.success();
    let first: Value = serde_json::from_str(run.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["line"], "ready");
    assert!(first["pod"].as_str().unwrap().starts_with("twin-"));

    // The operator reports DeletionFailed: delete says so and exits 1.
    sb.kube_config(json!({"modelOperator": "off"}));
    let mut obj = sb.kubectl_json(&["get", "jumpstartmodel", "twin", "-n", "default"]);
    obj["metadata"]["deletionTimestamp"] = json!("2025-01-01T00:00:00Z");
    obj["status"]["deploymentStatus"]["deploymentObjectOverallState"] = json!("DeletionFailed");
    obj["status"]["deploymentStatus"]["reason"] = json!("EndpointDeletionFailed");
    obj["status"]["deploymentStatus"]["message"] = json!("AccessDenied: sagemaker:DeleteEndpoint");
    sb.kube_objects(obj);
    let run = sb.hyperpod(&["delete", "twin", "--kind", "jumpstart"]);
    run.exits(1).stderr_has(&["deletion of jumpstartmodel default/twin failed: EndpointDeletionFailed: AccessDenied: sagemaker:DeleteEndpoint"]);
}

/// Beyond the seed's examples, each reaching DeploymentComplete: a Hugging Face-sourced custom
/// model, a JumpStart model with intelligent routing, KV cache and metrics, a model scaled by a
/// Prometheus trigger, and a prefill/decode (`pdSpec`) model; what the API server stored has
/// each field.
#[test]
fn models_with_the_crds_other_capabilities_deploy() {
    // Over 80 lines: one cluster deploying each capability in turn (a cluster per capability would cost a sandbox each).
    let sb = cluster("complete", 0.2);
    let image = "763104351884.dkr.ecr.us-west-2.amazonaws.com/djl-inference:0.32.0-lmi14.0.0-cu124";
    let custom = |name: &'static str| -> Vec<String> {
        [
            "deploy",
            "custom",
            "--name",
            name,
            "--model-name",
            name,
            "--instance-type",
            "ml.g5.24xlarge",
            "--image",
            image,
            "--container-port",
            "8000",
            "--gpus",
            "1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let pd = sb.dir().join("pd.yaml");
    std::fs::write(
        &pd,
        "spec:\n  pdSpec:\n    prefillSpec: {replicas: 1}\n    decodingSpec: {replicas: 2}\n    routingThreshold: 512\n",
    )
    .unwrap();
    let mut hf = custom("hf-llama");
    hf.extend(
        [
            "--model-source",
            "huggingface",
            "--hf-model-id",
            "meta-llama/Llama-3.1-8B-Instruct",
        ]
        .map(String::from),
    );
    let mut prom = custom("prom-scaled");
    prom.extend(
        [
            "--model-source",
            "huggingface",
            "--hf-model-id",
            "org/model",
            "--min-replicas",
            "1",
            "--max-replicas",
            "3",
            "--target-value",
            "50",
            "--prometheus-query",
            "sum(rate(requests_total[1m]))",
            "--prometheus-server",
            "https://aps-workspaces.us-west-2.amazonaws.com/workspaces/ws-0123",
        ]
        .map(String::from),
    );
    let mut pdm = custom("pd-split");
    pdm.extend(
        [
            "--model-source",
            "huggingface",
            "--hf-model-id",
            "org/model",
            "--values",
        ]
        .map(String::from),
    );
    pdm.push(pd.display().to_string());
    let mut js: Vec<String> = GUIDE_JUMPSTART.iter().map(|s| s.to_string()).collect();
    js.extend(
        [
            "--routing-strategy",
            "prefixaware",
            "--l1-cache",
            "--metrics",
        ]
        .map(String::from),
    );
    for (args, kind, name, field) in [
        (
            &hf,
            "inferenceendpointconfig",
            "hf-llama",
            "/spec/modelSourceConfig/huggingFaceModel/modelId",
        ),
        (
            &prom,
            "inferenceendpointconfig",
            "prom-scaled",
            "/spec/autoScalingSpec/prometheusTrigger/query",
        ),
        (
            &pdm,
            "inferenceendpointconfig",
            "pd-split",
            "/spec/pdSpec/decodingSpec/replicas",
        ),
        (
            &js,
            "jumpstartmodel",
            "my-bert-model",
            "/spec/intelligentRoutingSpec/routingStrategy",
        ),
    ] {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = sb.hyperpod(&a);
        run.success();
        run.stdout_has(&["DeploymentComplete"]);
        let stored = sb.kubectl_json(&["get", kind, name, "-n", "default"]);
        assert!(
            !stored.pointer(field).unwrap_or(&Value::Null).is_null(),
            "{name}: {field} missing in {stored}"
        );
    }
}

/// kubectl's namespace convention: with a namespace set on the kubeconfig's context, deploy,
/// get, describe, logs and delete work there without `-n`; `-n` overrides it.
#[test]
fn the_kubeconfig_contexts_namespace_is_the_default_as_in_kubectl() {
    let sb = cluster("complete", 0.2);
    sb.kubectl(&["create", "namespace", "team-a"]).success();
    sb.kubectl(&[
        "config",
        "set-context",
        "--current",
        "--namespace",
        "team-a",
    ])
    .success();
    sb.hyperpod(&common::bert_deploy_args("my-bert-model"))
        .success();
    let stored = sb.kubectl_own(&[
        "get",
        "jumpstartmodels",
        "my-bert-model",
        "-n",
        "team-a",
        "-o",
        "json",
    ]);
    stored.success();
    assert!(
        sb.kubectl_own(&["get", "jumpstartmodels", "my-bert-model", "-n", "default"])
            .code
            != 0,
        "the model went to default"
    );
    let listed = sb.hyperpod(&["get", "-o", "json"]);
    listed.success().stdout_has(&["my-bert-model", "team-a"]);
    sb.hyperpod(&["describe", "my-bert-model"]).success();
    sb.hyperpod(&["logs", "my-bert-model"]).success();
    // -n overrides the context's namespace.
    sb.hyperpod(&["describe", "my-bert-model", "-n", "default"])
        .failure();
    sb.hyperpod(&["delete", "my-bert-model"]).success();
    assert!(
        sb.kubectl_own(&["get", "jumpstartmodels", "my-bert-model", "-n", "team-a"])
            .code
            != 0,
        "not deleted"
    );
}
