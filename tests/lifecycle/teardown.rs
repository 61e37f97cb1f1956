//! `kubectl hyperpod teardown` end to end: the real aws, kubectl and helm against the emulated
//! cloud (tests/common). Each test has its own sandbox (EKS + HyperPod cluster + bucket).

use std::time::Duration;

use crate::common::{wait_until, Sandbox, World, BERT_MODEL_ID};
use serde_json::json;

const JSM: &str = "jumpstartmodels.inference.sagemaker.aws.amazon.com";
const FINALIZER: &str = "inference.sagemaker.aws.amazon.com/finalizer";

/// The guide's BERT model as a JumpStartModel with an endpoint, applied by kubectl.
fn model_manifest(name: &str, ns: &str) -> String {
    format!(
        r#"apiVersion: inference.sagemaker.aws.amazon.com/v1
kind: JumpStartModel
metadata:
  name: {name}
  namespace: {ns}
spec:
  model:
    modelId: {BERT_MODEL_ID}
  sageMakerEndpoint:
    name: {name}-endpoint
  server:
    instanceType: ml.c5.2xlarge
"#
    )
}

fn apply(sb: &Sandbox, manifest: &str) {
    let file = sb.dir().join(format!(
        "m-{}.yaml",
        manifest.len() + manifest.find("name").unwrap_or(0)
    ));
    std::fs::write(&file, manifest).unwrap();
    sb.kubectl(&["apply", "-f", &file.display().to_string()])
        .success();
}

fn deploy_model(sb: &Sandbox, name: &str, ns: &str) {
    apply(sb, &model_manifest(name, ns));
    wait_until(
        &format!("model {ns}/{name} to complete"),
        Duration::from_secs(60),
        || {
            let m = sb.kubectl_json(&["get", JSM, name, "-n", ns]);
            (m["status"]["deploymentStatus"]["deploymentObjectOverallState"]
                == "DeploymentComplete")
                .then_some(())
        },
    );
}

fn exists(sb: &Sandbox, args: &[&str]) -> bool {
    let r = sb.kubectl(&[&["get"], args].concat());
    if r.code == 0 {
        return true;
    }
    // Not found, or its kind is no longer served (the CRD went with the chart).
    assert!(
        r.stderr.contains("NotFound") || r.stderr.contains("doesn't have a resource type"),
        "{}",
        r.describe()
    );
    false
}

#[test]
fn setup_models_teardown_leaves_everything_as_before_and_a_second_run_changes_nothing() {
    // Over 80 lines: one setup-to-teardown flow in order, compared with the state before.
    let world = World::fresh().models_complete(0.3).set_up(&[]);
    let sb = world.start();
    // A namespace of the user's, there before setup: it must survive.
    sb.with_direct_kubeconfig(|| {
        sb.kubectl(&["create", "namespace", "team-a"]).success();
    });
    let t0 = std::time::Instant::now();
    let lap = |what: &str| eprintln!("[{:>6.1}s] {what}", t0.elapsed().as_secs_f64());
    let before = sb.snapshot();
    lap("snapshot");

    world.finish(&sb);
    lap("setup");
    deploy_model(&sb, "model-a", "default");
    deploy_model(&sb, "model-b", "team-a");
    lap("models");
    let set_up = sb.snapshot();
    lap("snapshot");
    assert_ne!(set_up, before);
    assert!(set_up["addons"]
        .to_string()
        .contains("aws-mountpoint-s3-csi-driver"));
    // The add-on pushed its objects into the cluster when it became ACTIVE.
    assert!(
        set_up["csidrivers"].to_string().contains("s3.csi.aws.com"),
        "{}",
        set_up["csidrivers"]
    );

    // --dry-run: lists the models of every namespace, changes nothing.
    sb.clear_tool_log();
    let dry = sb.teardown(&["--delete-models", "--delete-oidc-provider", "--dry-run"]);
    dry.success();
    lap("dry run");
    for want in [
        "JumpStartModel default/model-a (DeploymentComplete)",
        "JumpStartModel team-a/model-b (DeploymentComplete)",
        "helm uninstall hyperpod-inference-operator",
        "Dry run: nothing was changed.",
    ] {
        assert!(dry.stdout.contains(want), "{want}:\n{}", dry.describe());
    }
    assert_eq!(sb.mutating_commands(), Vec::<String>::new());
    assert_eq!(sb.snapshot(), set_up);

    // Without a flag about the models it refuses, naming them, and changes nothing.
    let refused = sb.teardown(&["--yes"]);
    assert_eq!(refused.code, 1, "{}", refused.describe());
    assert!(
        refused.stderr.contains("JumpStartModel team-a/model-b")
            && refused.stderr.contains("--delete-models"),
        "{}",
        refused.describe()
    );
    assert_eq!(sb.mutating_commands(), Vec::<String>::new());

    // The real thing.
    sb.clear_tool_log();
    let r = sb.teardown(&["--delete-models", "--delete-oidc-provider", "--yes"]);
    r.success();
    lap("teardown");
    assert!(
        r.stdout
            .contains(&format!("Teardown of {} is complete", sb.hyperpod_cluster)),
        "{}",
        r.describe()
    );
    // Models went first, and teardown waited for the operator to release them before the
    // operator was uninstalled.
    let log = sb.tool_log_lines();
    let pos = |needle: &str| {
        log.iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` in:\n{}", log.join("\n")))
    };
    assert!(pos("wait --for=delete jumpstartmodels") < pos("helm uninstall"));
    assert!(pos("helm uninstall") < pos("eks delete-addon"));
    assert!(pos("eks delete-addon") < pos("iam delete-role "));
    assert!(pos("iam delete-role ") < pos("iam delete-policy "));
    assert!(pos("iam delete-policy ") < pos("delete-open-id-connect-provider"));

    let after = sb.snapshot();
    assert_eq!(
        after, before,
        "teardown did not restore the state before setup"
    );

    // Twice: nothing to do, exit 0, no mutating command.
    sb.clear_tool_log();
    let again = sb.teardown(&["--delete-models", "--delete-oidc-provider", "--yes"]);
    again.success();
    lap("second teardown");
    again.stdout_has(&["nothing was changed"]);
    assert_eq!(sb.mutating_commands(), Vec::<String>::new());
    let j = sb
        .teardown(&["--delete-models", "-o", "json", "--yes"])
        .success()
        .json();
    assert_eq!(j["changed"], false);
    assert_eq!(sb.snapshot(), before);
}

/// A sandbox without setup whose cluster serves the model CRDs (the chart's, applied directly).
fn sandbox_with_model_crds() -> Sandbox {
    let sb = World::fresh().build();
    sb.with_direct_kubeconfig(|| {
        let dir = Sandbox::chart_dir().join("templates/crds");
        let mut crds: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        crds.sort();
        for crd in crds {
            sb.kubectl(&["apply", "-f", crd.to_str().unwrap()])
                .success();
        }
    });
    sb
}

#[test]
fn models_are_never_deleted_unasked_and_a_stuck_finalizer_is_reported_not_cleared() {
    // Over 80 lines: teardown's refusals, dry run and stuck wait in order on one cluster.
    let sb = sandbox_with_model_crds();
    // No operator: whatever finalizer a model carries stays.
    sb.kube_config(json!({"modelOperator": "off"}));
    sb.with_direct_kubeconfig(|| {
        let m = model_manifest("stuck", "default").replace(
            "  namespace: default\n",
            &format!("  namespace: default\n  finalizers:\n  - {FINALIZER}\n"),
        );
        apply(&sb, &m);
    });
    // No kubeconfig: teardown reads the cluster through a temporary one and never writes the
    // user's.
    assert!(!sb.kubeconfig_path().exists());

    // Default: refuse, naming the model, before anything changes.
    sb.clear_tool_log();
    let r = sb.teardown(&["--yes"]);
    assert_eq!(r.code, 1, "{}", r.describe());
    assert!(
        r.stderr.contains(
            "teardown refuses to run: 1 model resource(s) exist: JumpStartModel default/stuck"
        ) && r.stderr.contains("--delete-models")
            && r.stderr.contains("--keep-models"),
        "{}",
        r.describe()
    );
    assert_eq!(sb.mutating_commands(), Vec::<String>::new());

    // --dry-run shows the plan with the blocked step and exits 0.
    let d = sb.teardown(&["--dry-run"]);
    d.success();
    assert!(
        d.stdout.contains("models") && d.stdout.contains("blocked"),
        "{}",
        d.describe()
    );
    d.stdout_has(&["A real run would refuse"]);

    // --delete-models with a short deadline: the finalizer stays, teardown says which and how
    // it could be cleared, exits 6, and goes no further.
    sb.clear_tool_log();
    let t = sb.teardown(&["--delete-models", "--timeout", "5s", "--yes"]);
    assert_eq!(t.code, 6, "{}", t.describe());
    let clear = format!(
        r#"kubectl patch {JSM} stuck -n default --type merge -p '{{"metadata":{{"finalizers":null}}}}'"#
    );
    assert!(t.stderr.contains(&clear), "{}", t.describe());
    assert!(t.stderr.contains(FINALIZER), "{}", t.describe());
    assert!(
        !sb.mutating_commands().iter().any(|c| c.contains("patch")),
        "teardown touched the finalizer: {:?}",
        sb.mutating_commands()
    );
    assert!(
        !sb.tool_log_lines()
            .iter()
            .any(|l| l.contains("helm uninstall")
                || l.contains("delete-role")
                || l.contains("delete namespace")),
        "teardown went on past the stuck model"
    );
    let m = sb.with_direct_kubeconfig(|| sb.kubectl_json(&["get", JSM, "stuck", "-n", "default"]));
    assert_eq!(m["metadata"]["finalizers"], json!([FINALIZER]));
    assert!(m["metadata"]["deletionTimestamp"].is_string());
    assert!(
        !sb.kubeconfig_path().exists(),
        "teardown wrote the kubeconfig"
    );

    // The same as a JSON error document on stdout; the model is already being deleted, so
    // only the wait runs.
    sb.clear_tool_log();
    let j = sb.teardown(&["--delete-models", "--timeout", "3s", "--yes", "-o", "json"]);
    assert_eq!(j.code, 6, "{}", j.describe());
    let doc = j.json();
    assert_eq!(doc["error"]["kind"], "timed_out");
    assert_eq!(doc["error"]["step"], "models");
    assert!(
        doc["error"]["message"].as_str().unwrap().contains(&clear),
        "{doc}"
    );
    assert_eq!(sb.mutating_commands(), Vec::<String>::new());
}

#[test]
fn bad_input_is_rejected_before_any_command_runs() {
    let sb = World::fresh().build();
    for (args, needle) in [
        (
            vec!["teardown", "--hyperpod-cluster", "bad_name!"],
            "--hyperpod-cluster",
        ),
        (
            vec![
                "teardown",
                "--hyperpod-cluster",
                "hp",
                "--delete-models",
                "--keep-models",
            ],
            "--keep-models",
        ),
        (
            vec!["teardown", "--hyperpod-cluster", "hp", "--timeout", "0s"],
            "--timeout",
        ),
        (
            vec![
                "teardown",
                "--hyperpod-cluster",
                "hp",
                "--keep-iam",
                "--delete-oidc-provider",
            ],
            "--delete-oidc-provider",
        ),
        (
            vec![
                "teardown",
                "--hyperpod-cluster",
                "hp",
                "--keda-role-name",
                "has space",
            ],
            "--keda-role-name",
        ),
        (vec!["teardown"], "--hyperpod-cluster"),
    ] {
        sb.clear_tool_log();
        let r = sb.hyperpod(&args);
        assert_eq!(r.code, 2, "{}", r.describe());
        assert!(r.stderr.contains(needle), "{needle}: {}", r.describe());
        assert!(sb.tool_log().is_empty(), "{:?}", sb.tool_log());
    }
}

fn role_exists(sb: &Sandbox, name: &str) -> bool {
    let r = sb.aws(&["iam", "get-role", "--role-name", name]);
    if r.code == 0 {
        return true;
    }
    assert!(r.stderr.contains("NoSuchEntity"), "{}", r.describe());
    false
}

#[test]
fn what_setup_did_not_create_survives_and_a_failure_part_way_is_re_runnable() {
    // Over 80 lines: one flow in order: foreign objects, refusals, a failure part-way and the rerun.
    let world = World::fresh().models_complete(0.3).set_up(&[]);
    let sb = world.start();
    let hp = sb.hyperpod_cluster.clone();
    // A role and a ServiceAccount with the names setup uses, created by someone else first.
    let keda_role = format!("keda-operator-role-{hp}");
    sb.aws_json(&[
        "iam",
        "create-role",
        "--role-name",
        &keda_role,
        "--assume-role-policy-document",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
    ]);
    sb.with_direct_kubeconfig(|| {
        sb.kubectl(&[
            "create",
            "serviceaccount",
            "aws-load-balancer-controller",
            "-n",
            "kube-system",
        ])
        .success();
    });
    world.finish(&sb);
    // Setup's marks gone from the operator namespace: the release is still known as setup's
    // by its own label (helm --labels), so the uninstall below is planned.
    sb.with_direct_kubeconfig(|| {
        for args in [
            ["label", "kubectl-hyperpod.io/managed-"],
            ["annotate", "kubectl-hyperpod.io/hyperpod-cluster-"],
        ] {
            sb.kubectl(&[args[0], "namespace", "hyperpod-inference-system", args[1]])
                .success();
        }
    });
    deploy_model(&sb, "model-a", "default");

    // No terminal and no --yes: nothing is removed (exit 5).
    sb.clear_tool_log();
    let n = sb.teardown(&["--delete-models"]);
    assert_eq!(n.code, 5, "{}", n.describe());
    assert_eq!(sb.mutating_commands(), Vec::<String>::new());

    // --keep-models: the model stays, and so do the operator and everything it runs on.
    sb.clear_tool_log();
    let k = sb.teardown(&["--keep-models", "--yes"]);
    k.success();
    assert!(
        k.stdout.contains("Nothing to remove")
            && k.stdout
                .contains("JumpStartModel default/model-a (DeploymentComplete): --keep-models")
            && k.stdout.contains(
                "helm release hyperpod-inference-operator: model resources remain (--keep-models)"
            ),
        "{}",
        k.describe()
    );
    assert_eq!(sb.mutating_commands(), Vec::<String>::new());
    assert!(exists(&sb, &[JSM, "model-a", "-n", "default"]));

    // An Ingress whose load balancer the controller holds and that no model owns: uninstalling
    // the controller would leak the load balancer, so teardown refuses before changing anything.
    sb.kube_objects(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "shop", "namespace": "default", "finalizers": ["ingress.k8s.aws/resources"]},
        "spec": {"ingressClassName": "alb", "defaultBackend": {"service": {"name": "shop", "port": {"number": 80}}}},
    }));
    let b = sb.teardown(&["--delete-models", "--yes"]);
    assert_eq!(b.code, 1, "{}", b.describe());
    assert!(
        b.stderr
            .contains("Ingress default/shop holds an AWS load balancer")
            && b.stderr.contains("kubectl delete ingress shop -n default"),
        "{}",
        b.describe()
    );
    assert_eq!(sb.mutating_commands(), Vec::<String>::new());
    assert!(exists(&sb, &[JSM, "model-a", "-n", "default"]));
    sb.kube_hook(
        "DELETE",
        "/_emulator/objects/networking.k8s.io/v1/default/ingresses/shop",
        None,
    );

    // A Certificate of someone else's: cert-manager's CRDs (which its chart keeps on uninstall)
    // must then stay, or deleting them would delete it.
    sb.kube_objects(json!({
        "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
        "metadata": {"name": "site-tls", "namespace": "default"},
        "spec": {"secretName": "site-tls", "dnsNames": ["example.com"], "issuerRef": {"name": "ca"}},
    }));

    // A failure part-way stops at the failing step and names it; a re-run finishes the job.
    // --keep-iam leaves every role and policy.
    let f = sb.teardown_with(
        &["--delete-models", "--keep-iam", "--yes"],
        &[("HP_FAIL_MATCH", "helm uninstall")],
    );
    assert_eq!(f.code, 4, "{}", f.describe());
    f.stderr_has(&["step inference-operator"]);
    assert!(!exists(&sb, &[JSM, "model-a", "-n", "default"]));
    assert!(
        exists(
            &sb,
            &[
                "deployment",
                "-n",
                "hyperpod-inference-system",
                "hyperpod-inference-operator-controller-manager"
            ]
        ),
        "the operator went although helm uninstall failed"
    );
    let r = sb.teardown(&["--delete-models", "--keep-iam", "--yes"]);
    r.success();
    assert!(
        r.stdout
            .contains(&format!("IAM role HyperpodInferenceRole-{hp}: --keep-iam")),
        "{}",
        r.describe()
    );
    assert!(!exists(&sb, &["namespace", "keda"]));
    assert!(role_exists(&sb, &format!("HyperpodInferenceRole-{hp}")));
    assert!(
        r.stdout
            .contains("they still hold Certificate default/site-tls"),
        "{}",
        r.describe()
    );
    assert!(exists(&sb, &["crd", "certificates.cert-manager.io"]));
    assert!(exists(
        &sb,
        &["certificates.cert-manager.io", "site-tls", "-n", "default"]
    ));

    // Without --keep-iam (and no models left, so no flag about them is needed) the roles go,
    // and the OIDC provider with --delete-oidc-provider: the plan warns that the role left in
    // place trusts it.
    let r = sb.teardown(&["--delete-oidc-provider", "--yes"]);
    r.success();
    assert!(
        r.stderr.contains(&format!(
            "IAM role {keda_role} stays (not setup's) and trusts this provider"
        )),
        "{}",
        r.describe()
    );
    r.stdout_has(&[&format!("Teardown of {hp} is complete")]);
    for gone in [
        format!("aws-load-balancer-controller-{hp}"),
        format!("HyperpodInferenceRole-{hp}"),
        format!("SM_HP_S3_CSI_ROLE-{hp}"),
    ] {
        assert!(!role_exists(&sb, &gone), "{gone} survived");
    }

    // What setup did not create survives, and the output says so.
    assert!(role_exists(&sb, &keda_role));
    assert!(exists(
        &sb,
        &[
            "serviceaccount",
            "aws-load-balancer-controller",
            "-n",
            "kube-system"
        ]
    ));
    for kept in [
        format!("IAM role {keda_role}: not created by kubectl-hyperpod setup"),
        "ServiceAccount kube-system/aws-load-balancer-controller: not created by kubectl-hyperpod setup".to_string(),
    ] {
        assert!(r.stdout.contains(&kept), "{kept}:\n{}", r.describe());
    }
    // -o json lists them too, and a second run changes nothing.
    sb.clear_tool_log();
    let j = sb.teardown(&["--delete-models", "--yes", "-o", "json"]);
    let doc = j.success().json();
    assert_eq!(doc["changed"], false);
    assert!(
        doc["kept"].to_string().contains(&keda_role),
        "{}",
        doc["kept"]
    );
    assert_eq!(sb.mutating_commands(), Vec::<String>::new());
}
