//! `migrate --to addon` end to end on a new HyperPod cluster (`fresh`), in one sandbox flow: a
//! Helm setup serving two models; EKS refusing the add-on over Helm's objects without
//! `--resolve-conflicts OVERWRITE`; a migration whose add-on fails (injected), which restores the
//! Helm operator and exits non-zero with the health issue; the migration that then succeeds
//! (the add-on ACTIVE, no Helm workload or release record left, both models still there with
//! their uid and DeploymentComplete); a second run that changes nothing; doctor clean; teardown
//! back to the cluster as it was. Bad input is refused before any call.

use crate::common;
use crate::common::{jstr, Profile, Sandbox, World};
use serde_json::{json, Value};

const ADDON: &str = "amazon-sagemaker-hyperpod-inference";

fn migrate(sb: &Sandbox, extra: &[&str]) -> common::Run {
    sb.hyperpod_on_cluster("migrate", extra)
}

fn describe_addon(sb: &Sandbox, name: &str) -> Option<Value> {
    sb.describe_addon(name)
}

/// (uid, overall state) of a JumpStartModel in `default`.
fn model(sb: &Sandbox, name: &str) -> (String, String) {
    let m = sb.with_direct_kubeconfig(|| {
        sb.kubectl_json(&["get", "jumpstartmodels", name, "-n", "default"])
    });
    (
        jstr(&m, "metadata.uid").to_string(),
        jstr(&m, "status.deploymentStatus.deploymentObjectOverallState").to_string(),
    )
}

/// Names of the Deployments in a namespace.
fn deployments(sb: &Sandbox, ns: &str) -> Vec<String> {
    let l = sb.with_direct_kubeconfig(|| sb.kubectl_json(&["get", "deployments", "-n", ns]));
    l["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| jstr(d, "metadata.name").to_string())
        .collect()
}

const HELM_OPERATOR: &str = "hyperpod-inference-operator-controller-manager";
const HELM_KUBE_SYSTEM: [&str; 5] = [
    "hyperpod-inference-operator-alb",
    "keda-operator",
    "keda-operator-metrics-apiserver",
    "keda-admission-webhooks",
    "hyperpod-inference-operator-metrics",
];

#[test]
fn a_helm_install_moves_onto_the_add_on_keeping_every_model_and_a_failure_restores_helm() {
    // Over 80 lines: one migration flow in order (conflict, failed migration, restore, migration, no-op, teardown) on one cluster.
    let started = std::time::Instant::now();
    let world = World::fresh()
        .models_complete(0.3)
        .set_up(&["--method", "helm"])
        .with_model("model-a")
        .with_model("model-b");
    let sb = world.start();
    let before = sb.snapshot();
    world.finish(&sb);
    eprintln!("helm setup and two models: {:?}", started.elapsed());
    let uids: Vec<String> = ["model-a", "model-b"]
        .iter()
        .map(|m| model(&sb, m).0)
        .collect();

    // EKS applies an add-on's objects server-side: over the Helm install's CRDs and namespace it
    // fails without OVERWRITE, naming the conflicts.
    sb.start_addon("metrics-server", &[]).success();
    let ms = describe_addon(&sb, "metrics-server").unwrap();
    assert_eq!(ms["status"], "CREATE_FAILED", "{ms}");
    let issue = &ms["health"]["issues"][0];
    assert_eq!(issue["code"], "ConfigurationConflict", "{ms}");
    assert!(
        jstr(issue, "message").contains("APIService.apiregistration.k8s.io v1beta1.metrics.k8s.io"),
        "{ms}"
    );
    sb.aws(&[
        "eks",
        "delete-addon",
        "--cluster-name",
        &sb.eks_cluster,
        "--addon-name",
        "metrics-server",
    ])
    .success();

    eprintln!("conflict: {:?}", started.elapsed());
    // The plan says what goes, and runs nothing that changes anything.
    sb.clear_tool_log();
    let plan = migrate(&sb, &["--to", "addon", "--dry-run", "-o", "json"])
        .success()
        .json();
    assert_eq!(sb.mutating_commands(), Vec::<String>::new());
    let step = common::plan_step;
    assert_eq!(step(&plan, "helm-workloads")["state"], "present");
    assert_eq!(step(&plan, "helm-release-record")["state"], "present");
    assert_eq!(step(&plan, "helm-leftovers")["state"], "present");
    assert!(
        !plan.to_string().contains("\"uninstall\""),
        "never helm uninstall: {plan}"
    );

    // The add-on fails: the Helm operator comes back, the health issue is shown, exit non-zero.
    sb.addon_config(
        json!({"failures": {ADDON: {"status": "CREATE_FAILED", "issues": [
        {"code": "AccessDenied", "message": "executionRoleArn: role cannot be assumed",
         "resourceIds": ["arn:aws:iam::123456789012:role/x"]}]}}}),
    );
    let failed = migrate(&sb, &["--to", "addon", "--yes"]);
    eprintln!("failed migration: {:?}", started.elapsed());
    assert_eq!(failed.code, 1, "{}", failed.describe());
    failed.stderr_has(&[
        "AccessDenied: executionRoleArn: role cannot be assumed",
        "The migration was undone",
        "helm rollback hyperpod-inference-operator",
        "kubectl hyperpod migrate --to addon",
    ]);
    assert!(describe_addon(&sb, ADDON).is_none());
    assert!(deployments(&sb, "hyperpod-inference-system").contains(&HELM_OPERATOR.to_string()));
    let ks = deployments(&sb, "kube-system");
    for d in HELM_KUBE_SYSTEM {
        assert!(ks.contains(&d.to_string()), "{d} not restored: {ks:?}");
    }
    for (m, uid) in ["model-a", "model-b"].iter().zip(&uids) {
        assert_eq!(model(&sb, m), (uid.clone(), "DeploymentComplete".into()));
    }

    // Fixed: the migration resumes. A failure after the add-on was verified (removing the
    // release record) undoes nothing; the next run finishes.
    sb.addon_config(json!({"failures": {}}));
    let late = sb.hyperpod_with(
        &[
            "migrate",
            "--hyperpod-cluster",
            &sb.hyperpod_cluster,
            "--s3-bucket",
            &sb.bucket,
            "--to",
            "addon",
            "--yes",
        ],
        &[(
            "HP_FAIL_MATCH",
            "delete secret -n kube-system -l owner=helm",
        )],
    );
    assert_eq!(late.code, 1, "{}", late.describe());
    late.stderr_has(&["The operator runs as the EKS add-on (verified)"]);
    assert_eq!(describe_addon(&sb, ADDON).unwrap()["status"], "ACTIVE");
    assert!(!sb.helm_release_records().is_empty());
    migrate(&sb, &["--to", "addon", "--yes"]).success();
    eprintln!("migration: {:?}", started.elapsed());
    let addon = describe_addon(&sb, ADDON).unwrap();
    assert_eq!(addon["status"], "ACTIVE", "{addon}");
    let ns = deployments(&sb, "hyperpod-inference-system");
    assert!(!ns.contains(&HELM_OPERATOR.to_string()), "{ns:?}");
    assert!(
        ns.contains(&"hyperpod-inference-controller-manager".to_string()),
        "{ns:?}"
    );
    let ks = deployments(&sb, "kube-system");
    for d in HELM_KUBE_SYSTEM {
        assert!(!ks.contains(&d.to_string()), "{d} left: {ks:?}");
    }
    assert_eq!(sb.helm_release_records(), Vec::<Value>::new());
    // What the release still owned is gone (as an uninstall would remove it), but its CRDs and
    // namespace: the Helm operator's ServiceAccount, KEDA's APIService, the ALB's webhook.
    let left = sb.with_direct_kubeconfig(|| {
        sb.kubectl_json(&[
            "get",
            "serviceaccounts,apiservices,validatingwebhookconfigurations,clusterroles,customresourcedefinitions,namespaces",
            "-A",
            "-l",
            "app.kubernetes.io/managed-by=Helm",
        ])
    });
    let left: Vec<String> = left["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| {
            o["metadata"]["annotations"]["meta.helm.sh/release-name"]
                == "hyperpod-inference-operator"
        })
        .map(|o| format!("{} {}", jstr(o, "kind"), jstr(o, "metadata.name")))
        .collect();
    assert!(
        left.iter()
            .all(|o| o.starts_with("CustomResourceDefinition ") || o.starts_with("Namespace ")),
        "{left:?}"
    );
    for (m, uid) in ["model-a", "model-b"].iter().zip(&uids) {
        assert_eq!(model(&sb, m), (uid.clone(), "DeploymentComplete".into()));
    }

    // Again: nothing to do, nothing run that changes anything.
    sb.clear_tool_log();
    migrate(&sb, &["--to", "addon", "--yes"])
        .success()
        .stdout_has(&["Already migrated"]);
    assert_eq!(sb.mutating_commands(), Vec::<String>::new());
    let d = sb.hyperpod_on_cluster("doctor", &["-o", "json"]);
    assert_eq!(d.code, 0, "{}", d.describe());

    // Teardown takes the migrated cluster for the add-on install it is.
    sb.teardown_restores(&before, &["--delete-models"]);
    eprintln!("migrate e2e: {:?}", started.elapsed());
}

#[test]
fn bad_migrate_input_is_refused_naming_the_flag() {
    let sb = World::profile(Profile::Bare).build();
    sb.clear_tool_log();
    migrate(&sb, &["--yes"])
        .exits(2)
        .stderr_has(&["--to <METHOD>"]);
    migrate(&sb, &["--to", "operator-hub", "--yes"])
        .exits(2)
        .stderr_has(&["invalid value 'operator-hub' for '--to <METHOD>'"]);
    migrate(&sb, &["--to", "helm", "--yes"])
        .exits(2)
        .stderr_has(&["--to", "helm is not supported"]);
    assert_eq!(sb.tool_log(), Vec::<Vec<String>>::new());
    // A cluster with no operator at all: nothing to migrate, and nothing changed.
    let r = migrate(&sb, &["--to", "addon", "--yes"]);
    r.exits(2)
        .stderr_has(&["--hyperpod-cluster", "nothing to migrate"]);
    assert_eq!(sb.mutating_commands(), Vec::<String>::new());
}
