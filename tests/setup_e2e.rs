//! `kubectl hyperpod setup` end to end: the real aws, kubectl and helm against the emulated
//! cloud (tests/common). Each test has its own sandbox (EKS + HyperPod cluster + bucket).
//! Over 800 lines on purpose: every test binary starts its own emulated cloud (tests/common), so
//! one file per command keeps the suite to a few clouds; the tests are independent and run in parallel.

mod common;

use common::{cloud, marked_by_us, Profile, Sandbox};
use serde_json::Value;

/// The watch setup's test deployment waits with (deploy's watcher), as the tool log shows it.
const TEST_MODEL_WATCH: &str = "get jumpstartmodels.inference.sagemaker.aws.amazon.com testing-deployment-bert -n default -o json --watch";

const OPERATOR_SA: &str = "system:serviceaccount:hyperpod-inference-system:hyperpod-inference-operator-controller-manager";

fn setup_args(sb: &Sandbox) -> Vec<String> {
    vec![
        "setup".into(),
        "--hyperpod-cluster".into(),
        sb.hyperpod_cluster.clone(),
        "--s3-bucket".into(),
        sb.bucket.clone(),
    ]
}

fn run_setup(sb: &Sandbox, extra: &[&str], env: &[(&str, &str)]) -> common::Run {
    let mut args = setup_args(sb);
    args.extend(extra.iter().map(|s| s.to_string()));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    sb.hyperpod_with(&a, env)
}

fn role(sb: &Sandbox, name: &str) -> Option<Value> {
    let r = sb.aws(&["iam", "get-role", "--role-name", name, "--output", "json"]);
    (r.code == 0).then(|| r.json()["Role"].clone())
}

fn trust_subjects(trust: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for st in trust["Statement"].as_array().cloned().unwrap_or_default() {
        if let Some(cond) = st["Condition"].as_object() {
            for kv in cond.values() {
                for (k, v) in kv.as_object().cloned().unwrap_or_default() {
                    if k.ends_with(":sub") {
                        out.push(v.as_str().unwrap_or_default().to_string());
                    }
                }
            }
        }
    }
    out
}

/// The values of setup's helm release (through setup's kubeconfig context).
fn release_values(sb: &Sandbox, ctx: &str) -> Value {
    sb.helm(&[
        "get",
        "values",
        "hyperpod-inference-operator",
        "-n",
        "kube-system",
        "-o",
        "json",
        "--kube-context",
        ctx,
    ])
    .success()
    .json()
}

/// The state a finished setup must leave, asserted field by field: IAM, the add-ons, the
/// cluster's objects (read through the kubeconfig setup wrote) and the Helm release.
fn assert_set_up(sb: &Sandbox) {
    assert_iam_set_up(sb);
    assert_addons_set_up(sb);
    // The kubeconfig setup wrote is used as is: it runs `aws eks get-token` against the emulated EKS.
    let ctx = sb.eks_cluster_arn.clone();
    assert_cluster_objects_set_up(sb, &ctx);
    assert_release_set_up(sb, &ctx);
}

/// The OIDC provider and the four roles (trusting exactly their ServiceAccounts, with their
/// policies), everything tagged as setup's.
fn assert_iam_set_up(sb: &Sandbox) {
    let hp = &sb.hyperpod_cluster;
    let host = sb.oidc_issuer.trim_start_matches("https://");
    let provider_arn = format!("arn:aws:iam::{}:oidc-provider/{host}", sb.account);
    let providers = sb.aws_json(&["iam", "list-open-id-connect-providers"]);
    assert!(
        providers.to_string().contains(&provider_arn),
        "OIDC provider {provider_arn} missing: {providers}"
    );

    let expect = [
        (
            format!("HyperpodInferenceRole-{hp}"),
            OPERATOR_SA.to_string(),
        ),
        (
            format!("aws-load-balancer-controller-{hp}"),
            "system:serviceaccount:kube-system:aws-load-balancer-controller".to_string(),
        ),
        (
            format!("SM_HP_S3_CSI_ROLE-{hp}"),
            "system:serviceaccount:kube-system:s3-csi-driver-sa".to_string(),
        ),
        (
            format!("keda-operator-role-{hp}"),
            // The chart's keda subchart runs in the release namespace.
            "system:serviceaccount:kube-system:keda-operator".to_string(),
        ),
    ];
    for (name, subject) in &expect {
        let r = role(sb, name).unwrap_or_else(|| panic!("role {name} missing"));
        let trust = &r["AssumeRolePolicyDocument"];
        assert_eq!(
            trust_subjects(trust),
            vec![subject.clone()],
            "trust of {name}: {trust}"
        );
        assert_eq!(
            trust["Statement"][0]["Principal"]["Federated"],
            provider_arn.as_str()
        );
        assert_eq!(
            trust["Statement"][0]["Condition"]["StringEquals"][format!("{host}:aud")],
            "sts.amazonaws.com"
        );
        let tags = sb.aws_json(&["iam", "list-role-tags", "--role-name", name]);
        assert!(marked_by_us(&tags), "{name} not tagged: {tags}");
    }
    // Everything setup creates carries its mark, so teardown can tell ours from theirs.
    let ptags = sb.aws_json(&[
        "iam",
        "list-policy-tags",
        "--policy-arn",
        &format!(
            "arn:aws:iam::{}:policy/S3MountpointAccessPolicy-{hp}",
            sb.account
        ),
    ]);
    assert!(marked_by_us(&ptags), "policy not tagged: {ptags}");
    let otags = sb.aws_json(&[
        "iam",
        "list-open-id-connect-provider-tags",
        "--open-id-connect-provider-arn",
        &provider_arn,
    ]);
    assert!(marked_by_us(&otags), "OIDC provider not tagged: {otags}");
    assert_role_policies_set_up(sb);
}

/// The roles' policies: the operator's (SageMaker trust, bucket inline policy, SageMaker
/// access), the ALB controller's and KEDA's.
fn assert_role_policies_set_up(sb: &Sandbox) {
    let hp = &sb.hyperpod_cluster;
    let op = role(sb, &format!("HyperpodInferenceRole-{hp}")).unwrap();
    assert_eq!(
        op["AssumeRolePolicyDocument"]["Statement"][1]["Principal"]["Service"],
        "sagemaker.amazonaws.com"
    );
    let inline = sb.aws_json(&[
        "iam",
        "get-role-policy",
        "--role-name",
        &format!("HyperpodInferenceRole-{hp}"),
        "--policy-name",
        "InferenceOperatorInlinePolicy",
    ]);
    assert!(inline["PolicyDocument"]
        .to_string()
        .contains(&format!("arn:aws:s3:::{}/*", sb.bucket)));
    let attached = attached_policy_arns(sb, &format!("HyperpodInferenceRole-{hp}"));
    assert!(
        attached.contains(&"arn:aws:iam::aws:policy/AmazonSageMakerFullAccess".to_string()),
        "{attached:?}"
    );
    let alb_attached = attached_policy_arns(sb, &format!("aws-load-balancer-controller-{hp}"));
    assert!(
        alb_attached
            .iter()
            .any(|a| a.ends_with(&format!("policy/AWSLoadBalancerControllerIAMPolicy-{hp}"))),
        "{alb_attached:?}"
    );
    let keda_inline = sb.aws_json(&[
        "iam",
        "get-role-policy",
        "--role-name",
        &format!("keda-operator-role-{hp}"),
        "--policy-name",
        "KedaOperatorInlinePolicy",
    ]);
    assert!(keda_inline["PolicyDocument"]
        .to_string()
        .contains("cloudwatch:GetMetricData"));
}

/// The S3 CSI driver and cert-manager EKS add-ons, ACTIVE.
fn assert_addons_set_up(sb: &Sandbox) {
    let hp = &sb.hyperpod_cluster;
    let addon = sb.aws_json(&[
        "eks",
        "describe-addon",
        "--cluster-name",
        &sb.eks_cluster,
        "--addon-name",
        "aws-mountpoint-s3-csi-driver",
    ]);
    assert_eq!(addon["addon"]["status"], "ACTIVE", "{addon}");
    assert_eq!(
        addon["addon"]["serviceAccountRoleArn"],
        format!("arn:aws:iam::{}:role/SM_HP_S3_CSI_ROLE-{hp}", sb.account).as_str()
    );
    // cert-manager came first, from the EKS add-on tagged as setup's.
    let cm = sb.aws_json(&[
        "eks",
        "describe-addon",
        "--cluster-name",
        &sb.eks_cluster,
        "--addon-name",
        "cert-manager",
    ]);
    assert_eq!(cm["addon"]["status"], "ACTIVE", "{cm}");
    assert_eq!(
        cm["addon"]["tags"]["managed-by"], "kubectl-hyperpod",
        "{cm}"
    );
}

/// Namespaces, annotated ServiceAccounts, one NVIDIA device plugin, the operator running.
fn assert_cluster_objects_set_up(sb: &Sandbox, ctx: &str) {
    let hp = &sb.hyperpod_cluster;
    for ns in ["cert-manager", "hyperpod-inference-system"] {
        sb.kubectl(&["--context", ctx, "get", "namespace", ns])
            .success();
    }
    // The guide's `keda` namespace: nothing runs there (the chart's KEDA is in kube-system).
    assert_ne!(
        sb.kubectl(&["--context", ctx, "get", "namespace", "keda"])
            .code,
        0
    );
    let sa = |ns: &str, name: &str| {
        sb.kubectl_json(&["--context", ctx, "get", "serviceaccount", name, "-n", ns])
    };
    let alb = sa("kube-system", "aws-load-balancer-controller");
    assert_eq!(
        alb["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        format!(
            "arn:aws:iam::{}:role/aws-load-balancer-controller-{hp}",
            sb.account
        )
        .as_str()
    );
    let s3 = sa("kube-system", "s3-csi-driver-sa");
    assert_eq!(
        s3["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        format!("arn:aws:iam::{}:role/SM_HP_S3_CSI_ROLE-{hp}", sb.account).as_str()
    );
    assert_eq!(
        s3["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "EKS"
    );
    let op_sa = sa(
        "hyperpod-inference-system",
        "hyperpod-inference-operator-controller-manager",
    );
    assert_eq!(
        op_sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        format!(
            "arn:aws:iam::{}:role/HyperpodInferenceRole-{hp}",
            sb.account
        )
        .as_str()
    );
    // One NVIDIA device plugin: a new HyperPod cluster's own (the `dependencies` release), or
    // on a cluster without one, the guide's.
    let ours = sb.kubectl(&[
        "--context",
        ctx,
        "get",
        "daemonset",
        "nvidia-device-plugin-daemonset",
        "-n",
        "kube-system",
    ]);
    assert_eq!(
        ours.code == 0,
        sb.profile == Profile::Bare,
        "{}",
        ours.describe()
    );
    // The chart's KEDA ServiceAccount is the one the KEDA role trusts.
    let keda = sa("kube-system", "keda-operator");
    assert_eq!(
        keda["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        format!("arn:aws:iam::{}:role/keda-operator-role-{hp}", sb.account).as_str()
    );
    // The operator runs: its init checks held and cert-manager issued its webhook Secret.
    sb.assert_helm_operator_available_with(&["--context", ctx]);
}

/// The operator chart's release: its values, and setup's label on it.
fn assert_release_set_up(sb: &Sandbox, ctx: &str) {
    let hp = &sb.hyperpod_cluster;
    let values = release_values(sb, ctx);
    assert_eq!(values["cert-manager"]["enabled"], false);
    assert_eq!(values["region"], sb.region.as_str());
    assert_eq!(values["eksClusterName"], sb.eks_cluster.as_str());
    assert_eq!(
        values["hyperpodClusterArn"],
        sb.hyperpod_cluster_arn.as_str()
    );
    assert_eq!(
        values["executionRoleArn"],
        format!(
            "arn:aws:iam::{}:role/HyperpodInferenceRole-{hp}",
            sb.account
        )
        .as_str()
    );
    assert_eq!(
        values["tlsCertificateS3Bucket"],
        format!("s3://{}", sb.bucket).as_str()
    );
    assert_eq!(
        values["s3"]["serviceAccountRoleArn"],
        format!("arn:aws:iam::{}:role/SM_HP_S3_CSI_ROLE-{hp}", sb.account).as_str()
    );
    assert_eq!(values["s3"]["node"]["serviceAccount"]["create"], false);
    assert_eq!(
        values["s3"]["enabled"], false,
        "the S3 CSI driver comes from the add-on, not the chart"
    );
    assert_eq!(
        values["keda"]["podIdentity"]["aws"]["irsa"]["roleArn"],
        format!("arn:aws:iam::{}:role/keda-operator-role-{hp}", sb.account).as_str()
    );
    assert_eq!(values["alb"]["vpcId"], sb.vpc_id.as_str());
    assert_eq!(values["alb"]["clusterName"], sb.eks_cluster.as_str());
    // The release carries setup's label (`helm --labels`, kept on its storage Secret): how
    // teardown knows the release is setup's.
    let releases = sb.kubectl_json(&[
        "--context",
        ctx,
        "get",
        "secret",
        "-n",
        "kube-system",
        "-l",
        "owner=helm,name=hyperpod-inference-operator",
    ]);
    let items = releases["items"].as_array().cloned().unwrap_or_default();
    assert!(!items.is_empty(), "no release Secret: {releases}");
    for s in &items {
        assert_eq!(
            s["metadata"]["labels"]["kubectl-hyperpod.io/managed"], "true",
            "{}",
            s["metadata"]
        );
    }
    // ... and helm finds the release by it, as teardown asks.
    let listed = sb.helm(&[
        "list",
        "-n",
        "kube-system",
        "--selector",
        "kubectl-hyperpod.io/managed=true",
        "-o",
        "json",
        "--kube-context",
        ctx,
    ]);
    let listed = listed.success().json();
    assert_eq!(listed[0]["name"], "hyperpod-inference-operator", "{listed}");
}

/// The most `aws` processes a setup that changes nothing may start (issue 15: was 39, 17 of them
/// `eks get-token`; bench/BENCHMARKS.md has the figures).
const NO_OP_SETUP_AWS_BUDGET: usize = 19;

/// At most `budget` aws processes, and one Kubernetes credential for the whole run: one
/// `aws eks get-token`, not one per kubectl/helm call.
fn assert_call_budget(log: &[String], budget: usize, what: &str) {
    let aws: Vec<&String> = log.iter().filter(|l| l.starts_with("aws ")).collect();
    let tokens = aws.iter().filter(|l| l.contains("eks get-token")).count();
    let kube = log
        .iter()
        .filter(|l| l.starts_with("kubectl ") || l.starts_with("helm "))
        .count();
    eprintln!(
        "{what}: {} aws processes ({tokens} eks get-token), {kube} kubectl/helm",
        aws.len()
    );
    assert!(
        tokens <= 1,
        "{what} ran `aws eks get-token` {tokens} times:\n{}",
        log.join("\n")
    );
    assert!(
        aws.len() <= budget,
        "{what} started {} aws processes (budget {budget}):\n{}",
        aws.len(),
        log.join("\n")
    );
}

/// The ARNs of the managed policies attached to an IAM role.
fn attached_policy_arns(sb: &Sandbox, role: &str) -> Vec<String> {
    let v = sb.aws_json(&["iam", "list-attached-role-policies", "--role-name", role]);
    v["AttachedPolicies"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p["PolicyArn"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn fresh_setup_completes_and_a_second_run_changes_nothing() {
    let sb = cloud().sandbox();
    sb.kube_config(serde_json::json!({"modelOperator": "complete", "modelDelaySeconds": 0.5}));
    let r = run_setup(&sb, &["--yes"], &[]);
    r.success();
    assert!(
        r.stdout
            .contains(&format!("Setup of {} is complete", sb.hyperpod_cluster)),
        "{}",
        r.describe()
    );
    assert_set_up(&sb);
    // The test model was created, waited for and removed.
    let log = sb.tool_log_lines();
    assert!(
        log.iter()
            .any(|l| l.contains("apply --field-manager=kubectl-hyperpod-test-deployment")),
        "no test model applied:\n{}",
        log.join("\n")
    );
    assert!(
        log.iter().any(|l| l.contains(TEST_MODEL_WATCH)),
        "{}",
        log.join("\n")
    );
    assert!(test_model(&sb).is_none(), "the test model was not removed");

    let before = sb.snapshot();
    sb.clear_tool_log();
    let again = run_setup(&sb, &["--yes"], &[]);
    again.success();
    again.stdout_has(&["Everything is already in place"]);
    assert_call_budget(
        &sb.tool_log_lines(),
        NO_OP_SETUP_AWS_BUDGET,
        "a no-op setup",
    );
    assert_eq!(
        sb.mutating_commands(),
        Vec::<String>::new(),
        "a re-run ran mutating commands"
    );
    assert!(
        !sb.tool_log_lines()
            .iter()
            .any(|l| l.contains("kubectl-hyperpod-test-deployment")
                || l.contains(TEST_MODEL_WATCH)),
        "test deployment ran although nothing changed"
    );
    assert_eq!(sb.snapshot(), before);

    // -o json of a no-op run: one JSON document, nothing changed.
    let j = run_setup(&sb, &["--yes", "-o", "json"], &[]);
    let doc = j.success().json();
    assert_eq!(doc["changed"], false);
    assert_eq!(
        doc["roles"]["inference_operator"],
        format!(
            "arn:aws:iam::{}:role/HyperpodInferenceRole-{}",
            sb.account, sb.hyperpod_cluster
        )
        .as_str()
    );
}

#[test]
fn dry_run_changes_nothing_and_plans_as_data() {
    // Over 80 lines: the plan's every step checked as data, on one cluster.
    let sb = cloud().sandbox();
    let before = sb.snapshot();
    sb.clear_tool_log();
    let r = run_setup(&sb, &["--dry-run", "-o", "json"], &[]);
    let plan = r.success().json();
    assert_eq!(sb.mutating_commands(), Vec::<String>::new());
    assert_eq!(sb.snapshot(), before);
    assert!(
        !sb.kubeconfig_path().exists(),
        "dry run wrote the user's kubeconfig"
    );

    let steps = plan["plan"]["steps"].as_array().unwrap();
    let ids: Vec<&str> = steps.iter().map(|s| s["id"].as_str().unwrap()).collect();
    for id in [
        "resolve",
        "kubeconfig",
        "oidc-provider",
        "operator-role",
        "alb-policy",
        "alb-role",
        "alb-service-account",
        "namespaces",
        "s3-policy",
        "s3-role",
        "s3-service-account",
        "s3-csi-addon",
        "keda-role",
        "nvidia-device-plugin",
        "inference-operator",
        "operator-service-account",
        "verify",
        "test-deployment",
    ] {
        assert!(ids.contains(&id), "step {id} missing from {ids:?}");
    }
    let step = |id: &str| steps.iter().find(|s| s["id"] == id).unwrap().clone();
    let op = step("operator-role");
    assert_eq!(op["state"], "missing");
    assert_eq!(op["depends_on"], serde_json::json!(["oidc-provider"]));
    let create = &op["actions"][0];
    assert_eq!(create["argv"][0], "aws");
    assert_eq!(create["argv"][1], "iam");
    assert_eq!(create["argv"][2], "create-role");
    assert_eq!(create["mutating"], true);
    let trust = &create["documents"][0]["content"];
    assert_eq!(trust_subjects(trust), vec![OPERATOR_SA.to_string()]);
    // The exact argv carries the same document.
    let i = create["argv"]
        .as_array()
        .unwrap()
        .iter()
        .position(|a| a == "--assume-role-policy-document")
        .unwrap();
    let inline: Value = serde_json::from_str(create["argv"][i + 1].as_str().unwrap()).unwrap();
    assert_eq!(&inline, trust);
    let helm = step("inference-operator");
    let install = helm["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["argv"][0] == "helm")
        .unwrap();
    assert_eq!(install["stdin_document"], "helm values");
    assert_eq!(
        install["documents"][0]["content"]["alb"]["vpcId"],
        sb.vpc_id.as_str()
    );
    assert_eq!(
        plan["plan"]["context"]["facts"]["eks_cluster"],
        sb.eks_cluster.as_str()
    );
    // The test deployment's wait is deploy's watcher: shown as the watch it streams, with what
    // passes, what fails at once, and what becomes of a model that fails.
    let test = step("test-deployment");
    let wait = test["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["wait_for"].is_object())
        .unwrap();
    let argv = serde_json::from_value::<Vec<String>>(wait["argv"].clone()).unwrap();
    assert!(argv.join(" ").contains(TEST_MODEL_WATCH), "{argv:?}");
    assert_eq!(wait["mutating"], false);
    assert_eq!(wait["wait_for"]["kind"], "JumpStartModel");
    assert_eq!(wait["wait_for"]["name"], "testing-deployment-bert");
    assert_eq!(wait["wait_for"]["until"], "DeploymentComplete");
    assert_eq!(wait["wait_for"]["fails_on"], "DeploymentFailed");
    assert_eq!(wait["wait_for"]["timeout_seconds"], 900);
    assert!(
        wait["wait_for"]["on_failure"]
            .as_str()
            .unwrap()
            .contains("kept for inspection"),
        "{wait}"
    );

    // Text form: every step and a closing line.
    let t = run_setup(&sb, &["--dry-run"], &[]);
    t.success();
    assert!(
        t.stdout
            .contains("would change things. Dry run: nothing was changed."),
        "{}",
        t.describe()
    );
    assert!(t.stdout.contains("operator-role") && t.stdout.contains("missing"));
}

#[test]
fn offline_dry_run_needs_no_tools_and_renders_every_document() {
    let sb = cloud().sandbox();
    let r = sb.hyperpod_with(
        &[
            "setup",
            "--hyperpod-cluster",
            "my-hp",
            "--region",
            "eu-west-1",
            "--s3-bucket",
            "my-bucket",
            "--dry-run",
            "--offline",
            "-o",
            "json",
            "--enable-jumpstart-gated",
            "--install-fsx-csi",
            "--test-instance-type",
            "ml.g5.xlarge",
        ],
        &[
            ("PATH", "/nonexistent"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ],
    );
    let plan = r.success().json();
    let steps = plan["plan"]["steps"].as_array().unwrap();
    let docs: usize = steps
        .iter()
        .flat_map(|s| s["actions"].as_array().unwrap().iter())
        .map(|a| a["documents"].as_array().map(|d| d.len()).unwrap_or(0))
        .sum();
    assert!(docs >= 10, "too few documents: {docs}");
    let gated = steps
        .iter()
        .find(|s| s["id"] == "gated-model-role")
        .unwrap();
    let trust = &gated["actions"][0]["documents"][0]["content"];
    assert_eq!(
        trust["Statement"][0]["Condition"]["StringLike"]
            ["oidc.eks.eu-west-1.amazonaws.com/id/${OIDC_ID}:sub"],
        "system:serviceaccount:*:hyperpod-inference-service-account*"
    );
    assert_eq!(plan["plan"]["context"]["facts"]["account"], "${ACCOUNT_ID}");
    // The test model on the instance type asked for.
    let test = steps.iter().find(|s| s["id"] == "test-deployment").unwrap();
    let model = test["actions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["documents"].as_array().cloned().unwrap_or_default())
        .find(|d| d["content"]["kind"] == "JumpStartModel")
        .expect("the test model's document");
    assert_eq!(
        model["content"]["spec"]["server"]["instanceType"],
        "ml.g5.xlarge"
    );
    for s in steps {
        assert!(
            s["state"] == "missing" || s["state"] == "info" || s["state"] == "deferred",
            "offline state of {}: {}",
            s["id"],
            s["state"]
        );
    }
}

#[test]
fn iam_only_creates_only_iam_resources_and_prints_role_arns() {
    let sb = cloud().sandbox();
    let r = run_setup(&sb, &["--iam-only", "--yes", "-o", "json"], &[]);
    let doc = r.success().json();
    let hp = &sb.hyperpod_cluster;
    assert_eq!(
        doc["roles"]["keda"],
        format!("arn:aws:iam::{}:role/keda-operator-role-{hp}", sb.account).as_str()
    );
    assert!(role(&sb, &format!("HyperpodInferenceRole-{hp}")).is_some());
    assert!(role(&sb, &format!("SM_HP_S3_CSI_ROLE-{hp}")).is_some());
    for l in sb.tool_log_lines() {
        assert!(
            l.starts_with("aws "),
            "--iam-only ran a non-aws command: {l}"
        );
        assert!(
            !l.contains("eks create-addon") && !l.contains("update-kubeconfig"),
            "--iam-only touched EKS: {l}"
        );
    }
    assert!(!sb.kubeconfig_path().exists());
    let t = run_setup(&sb, &["--iam-only", "--yes"], &[]);
    t.success();
    assert!(
        t.stdout.contains(&format!(
            "arn:aws:iam::{}:role/HyperpodInferenceRole-{hp}",
            sb.account
        )),
        "{}",
        t.describe()
    );
    t.stdout_has(&["Everything is already in place"]);
}

#[test]
fn a_failure_at_any_mutating_step_names_it_and_a_rerun_finishes_the_job() {
    // Over 80 lines: a loop over every mutating step, each failure followed by its rerun.
    // A cluster without a device plugin of its own, so that setup applies the guide's.
    let sb = cloud().sandbox_with(Profile::Bare);
    sb.kube_config(serde_json::json!({"modelOperator": "complete", "modelDelaySeconds": 0.2}));
    // The node of the profile's one instance group (ml.g5.8xlarge), for the test model: setup
    // checks that it can be placed before it creates it.
    sb.kube_objects(serde_json::json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "hyperpod-i-g5", "labels": {
            "node.kubernetes.io/instance-type": "ml.g5.8xlarge",
            "sagemaker.amazonaws.com/node-health-status": "Schedulable"}},
        "status": {"allocatable": {"cpu": "32", "nvidia.com/gpu": "1"},
                   "conditions": [{"type": "Ready", "status": "True"}]},
    }));
    let test_type = ["--test-instance-type", "ml.g5.8xlarge"];
    let hp = sb.hyperpod_cluster.clone();
    // One injection point per mutating step. Steps of one wave run at the same time, so each run
    // injects a failure into every step of the next wave: all of them must fail, be named, and
    // the following run must resume there.
    let waves: Vec<Vec<(&str, String)>> = vec![
        vec![
            (
                "kubeconfig",
                format!(
                    "update-kubeconfig --name {} --alias {} --output",
                    sb.eks_cluster, sb.eks_cluster_arn
                ),
            ),
            ("oidc-provider", "create-open-id-connect-provider".into()),
            (
                "alb-policy",
                format!("create-policy --policy-name AWSLoadBalancerControllerIAMPolicy-{hp}"),
            ),
            (
                "s3-policy",
                format!("create-policy --policy-name S3MountpointAccessPolicy-{hp}"),
            ),
        ],
        vec![
            // Partway through a step: the role exists, its inline policy does not.
            (
                "operator-role",
                format!("put-role-policy --role-name HyperpodInferenceRole-{hp}"),
            ),
            (
                "alb-role",
                format!("attach-role-policy --role-name aws-load-balancer-controller-{hp}"),
            ),
            (
                "s3-role",
                format!("create-role --role-name SM_HP_S3_CSI_ROLE-{hp}"),
            ),
            (
                "keda-role",
                format!("put-role-policy --role-name keda-operator-role-{hp}"),
            ),
            (
                "namespaces",
                "apply --field-manager=kubectl-hyperpod-namespaces".into(),
            ),
            (
                "nvidia-device-plugin",
                "apply --field-manager=kubectl-hyperpod-nvidia-device-plugin".into(),
            ),
        ],
        vec![
            (
                "alb-service-account",
                "apply --field-manager=kubectl-hyperpod-aws-load-balancer-controller".into(),
            ),
            (
                "s3-service-account",
                "apply --field-manager=kubectl-hyperpod-s3-csi-driver-sa".into(),
            ),
        ],
        vec![("s3-csi-addon", "eks create-addon".into())],
        vec![("inference-operator", "helm upgrade --install".into())],
        vec![("test-deployment", TEST_MODEL_WATCH.into())],
    ];
    for wave in &waves {
        let patterns = wave
            .iter()
            .map(|(_, p)| p.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let r = run_setup(
            &sb,
            &["--yes", "--timeout", "60s", test_type[0], test_type[1]],
            &[("HP_FAIL_MATCH", patterns.as_str())],
        );
        assert_eq!(r.code, 4, "a failed command exits 4:\n{}", r.describe());
        for (step, _) in wave {
            assert!(
                r.stderr.contains(&format!("step {step} (")),
                "error does not name step {step}:\n{}",
                r.describe()
            );
        }
        assert!(
            r.stderr.contains("injected failure"),
            "error does not carry the command's stderr:\n{}",
            r.describe()
        );
    }
    let done = run_setup(&sb, &["--yes", test_type[0], test_type[1]], &[]);
    done.success();
    assert_set_up(&sb);
    // No duplicates: one OIDC provider for the issuer, one version of each policy.
    let host = sb.oidc_issuer.trim_start_matches("https://").to_string();
    let providers = sb.aws_json(&["iam", "list-open-id-connect-providers"]);
    assert_eq!(
        providers["OpenIDConnectProviderList"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["Arn"].as_str().unwrap().ends_with(&host))
            .count(),
        1
    );
    assert!(
        test_model(&sb).is_none(),
        "the test model left by the failed run was not removed"
    );
    sb.clear_tool_log();
    run_setup(&sb, &["--yes", test_type[0], test_type[1]], &[]).success();
    assert_eq!(sb.mutating_commands(), Vec::<String>::new());
}

#[test]
fn drift_is_shown_and_corrected() {
    let sb = cloud().sandbox();
    run_setup(&sb, &["--yes", "--skip-test-deployment"], &[]).success();
    let hp = &sb.hyperpod_cluster;
    let name = format!("HyperpodInferenceRole-{hp}");
    // The guide's trust policy: any ServiceAccount of the cluster.
    let host = sb.oidc_issuer.trim_start_matches("https://");
    let guide_trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Federated": format!("arn:aws:iam::{}:oidc-provider/{host}", sb.account)},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {format!("{host}:aud"): "sts.amazonaws.com"}, "StringLike": {format!("{host}:sub"): "system:serviceaccount:*:*"}}}]
    });
    sb.aws(&[
        "iam",
        "update-assume-role-policy",
        "--role-name",
        &name,
        "--policy-document",
        &guide_trust.to_string(),
    ])
    .success();
    let plan = run_setup(&sb, &["--dry-run"], &[]);
    plan.success();
    assert!(plan.stdout.contains("drifted"), "{}", plan.describe());
    assert!(plan.stdout.contains(&format!("trust policy of {name} allows system:serviceaccount:*:* but should allow only {OPERATOR_SA}")), "{}", plan.describe());
    run_setup(&sb, &["--yes", "--skip-test-deployment"], &[]).success();
    let r = role(&sb, &name).unwrap();
    assert_eq!(
        trust_subjects(&r["AssumeRolePolicyDocument"]),
        vec![OPERATOR_SA.to_string()]
    );
}

#[test]
fn a_cert_manager_already_installed_is_left_alone() {
    // cert-manager from the EKS add-on (its CRDs carry no Helm ownership): the chart's own
    // cert-manager would collide with them ("invalid ownership metadata").
    let sb = cloud().sandbox();
    sb.create_addon("cert-manager", &[]);
    let crd = || {
        sb.with_direct_kubeconfig(|| {
            sb.kubectl_json(&["get", "crd", "certificates.cert-manager.io"])
        })
    };
    let crd_before = crd();
    let plan = run_setup(&sb, &["--dry-run", "--skip-test-deployment"], &[]);
    plan.success();
    assert!(
        plan.stdout.contains(
            "cert-manager is already installed (the EKS add-on cert-manager, not setup's)"
        ) && plan
            .stdout
            .contains("the chart's own cert-manager stays off"),
        "{}",
        plan.describe()
    );
    run_setup(&sb, &["--yes", "--skip-test-deployment"], &[]).success();
    let values = release_values(&sb, &sb.eks_cluster_arn);
    assert_eq!(values["cert-manager"]["enabled"], false, "{values}");
    // The add-on's CRDs are untouched (not adopted by the release).
    let crd_after = crd();
    assert_eq!(
        crd_after["metadata"]["annotations"],
        crd_before["metadata"]["annotations"]
    );
    assert_eq!(crd_after["metadata"]["uid"], crd_before["metadata"]["uid"]);
    // And a re-run sees nothing to do.
    sb.clear_tool_log();
    run_setup(&sb, &["--yes", "--skip-test-deployment"], &[]).success();
    assert_eq!(sb.mutating_commands(), Vec::<String>::new());
}

#[test]
fn without_a_terminal_or_yes_it_refuses_and_changes_nothing() {
    let sb = cloud().sandbox();
    let r = run_setup(&sb, &[], &[]);
    assert_eq!(r.code, 5, "{}", r.describe());
    r.stderr_has(&["no terminal to confirm on"]);
    assert!(r.stderr.contains("--yes"), "{}", r.describe());
    assert_eq!(sb.mutating_commands(), Vec::<String>::new());
}

#[test]
fn bad_input_is_rejected_before_any_command_runs() {
    // Over 80 lines: a table of bad inputs and the flag each must name.
    let sb = cloud().sandbox();
    let long_role = "x".repeat(65);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "--hyperpod-cluster",
                "bad_name!",
                "--s3-bucket",
                "ok-bucket",
            ],
            "invalid --hyperpod-cluster",
        ),
        (
            vec!["--hyperpod-cluster", "hp", "--s3-bucket", "Bad..Bucket"],
            "invalid --s3-bucket",
        ),
        (
            vec![
                "--hyperpod-cluster",
                "hp",
                "--s3-bucket",
                "ok-bucket",
                "--model-bucket",
                "Models_Bucket",
            ],
            "invalid --model-bucket",
        ),
        (
            vec![
                "--hyperpod-cluster",
                "hp",
                "--s3-bucket",
                "ok-bucket",
                "--model-bucket",
                "models",
                "--skip-s3-csi",
            ],
            "--skip-s3-csi",
        ),
        (
            vec![
                "--hyperpod-cluster",
                "hp",
                "--s3-bucket",
                "ok-bucket",
                "--region",
                "mars-1",
            ],
            "invalid --region",
        ),
        (
            vec![
                "--hyperpod-cluster",
                "hp",
                "--s3-bucket",
                "ok-bucket",
                "--operator-role-name",
                "has space",
            ],
            "invalid --operator-role-name",
        ),
        (
            vec![
                "--hyperpod-cluster",
                "hp",
                "--s3-bucket",
                "ok-bucket",
                "--keda-role-name",
                &long_role,
            ],
            "invalid --keda-role-name",
        ),
        (
            vec![
                "--hyperpod-cluster",
                "hp",
                "--s3-bucket",
                "ok-bucket",
                "--chart",
                "/nonexistent",
            ],
            "invalid --chart",
        ),
        (
            vec![
                "--hyperpod-cluster",
                "hp",
                "--s3-bucket",
                "ok-bucket",
                "--test-instance-type",
                "ml.c5\"\n  evil: yes",
            ],
            "invalid --test-instance-type",
        ),
        (
            vec![
                "--hyperpod-cluster",
                "hp\"; rm -rf /",
                "--s3-bucket",
                "ok-bucket",
            ],
            "invalid --hyperpod-cluster",
        ),
    ];
    for (args, expected) in cases {
        sb.clear_tool_log();
        let mut a = vec!["setup"];
        a.extend(args.iter().copied());
        let r = sb.hyperpod(&a);
        assert_eq!(r.code, 2, "{}", r.describe());
        assert!(
            r.stderr.contains(expected),
            "expected {expected:?}:\n{}",
            r.describe()
        );
        assert!(
            sb.tool_log().is_empty(),
            "a command ran for bad input: {:?}",
            sb.tool_log_lines()
        );
    }
    // Over-long derived names are shortened deterministically and shown in the plan.
    let long = "a".repeat(63);
    let r = sb.hyperpod(&[
        "setup",
        "--hyperpod-cluster",
        &long,
        "--s3-bucket",
        "ok-bucket",
        "--dry-run",
        "--offline",
        "-o",
        "json",
    ]);
    let plan = r.success().json();
    let names = &plan["plan"]["context"]["names"];
    assert_eq!(names["operator_role"]["source"], "shortened");
    assert_eq!(names["operator_role"]["name"].as_str().unwrap().len(), 64);
}

/// The test model as the cluster has it, or None.
fn test_model(sb: &Sandbox) -> Option<Value> {
    let r = sb.kubectl(&[
        "--context",
        &sb.eks_cluster_arn,
        "get",
        "jumpstartmodel",
        "testing-deployment-bert",
        "-n",
        "default",
        "-o",
        "json",
    ]);
    if r.code != 0 {
        assert!(r.stderr.contains("NotFound"), "{}", r.describe());
        return None;
    }
    Some(r.json())
}

#[test]
fn a_failing_test_model_stops_setup_at_once_with_the_diagnosis_and_a_rerun_tests_again() {
    // Over 80 lines: a failed test deployment, its diagnosis and the rerun, in order on one cluster.
    let sb = cloud().sandbox();
    let reason = "ModelDownloadFailed";
    let message = "AccessDenied: not authorized to read s3://jumpstart-cache-prod/bert <x> 'y'";
    sb.kube_config(serde_json::json!({
        "modelOperator": "fail",
        "modelDelaySeconds": 0.2,
        "modelFailReason": reason,
        "modelFailMessage": message,
    }));
    // A deadline far beyond the harness's own per-command limit: the run can only finish in
    // time if DeploymentFailed ends the wait.
    let r = run_setup(&sb, &["--yes", "--timeout", "10m", "-o", "json"], &[]);
    assert_eq!(r.code, 1, "a failed deployment exits 1:\n{}", r.describe());
    let doc = r.json();
    let err = &doc["error"];
    assert_eq!(err["kind"], "failed", "{doc}");
    assert_eq!(err["exit_code"], 1);
    assert_eq!(err["step"], "test-deployment");
    let text = err["message"].as_str().unwrap();
    for part in [
        format!("deployment of jumpstartmodel default/testing-deployment-bert failed: {reason}: {message}"),
        "what the cluster says:".to_string(),
        "state:    DeploymentFailed".to_string(),
        "pods (app=testing-deployment-bert)".to_string(),
        "the test model default/testing-deployment-bert is kept for inspection".to_string(),
        "`kubectl hyperpod delete testing-deployment-bert` removes it".to_string(),
    ] {
        assert!(text.contains(&part), "missing {part:?} in:\n{text}");
    }
    // The operator's words suggest a missing IAM permission: deploy's hint says so.
    assert!(
        err["hint"]
            .as_str()
            .unwrap_or_default()
            .contains("an IAM permission is missing"),
        "{doc}"
    );
    // In words on stderr too, after the progress of the wait.
    assert!(
        r.stderr
            .contains("waiting for testing-deployment-bert to deploy (up to 10m)"),
        "{}",
        r.describe()
    );
    assert!(
        r.stderr.contains("error: step test-deployment (")
            && r.stderr.contains(&format!("{reason}: {message}")),
        "{}",
        r.describe()
    );
    // Everything before the test is in place; the failed model is kept, as documented.
    assert_set_up(&sb);
    let kept = test_model(&sb).expect("the failed test model was removed");
    assert_eq!(
        kept["status"]["deploymentStatus"]["deploymentObjectOverallState"],
        "DeploymentFailed"
    );

    // Once models deploy, a re-run replaces the kept model, tests again and removes it, although
    // nothing else needs changing.
    sb.kube_config(serde_json::json!({"modelOperator": "complete", "modelDelaySeconds": 0.2}));
    sb.clear_tool_log();
    let again = run_setup(&sb, &["--yes", "--timeout", "10m"], &[]);
    again.success();
    let log = sb.tool_log_lines();
    let pos = |needle: &str| {
        log.iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{}", log.join("\n")))
    };
    let delete_old = pos("delete jumpstartmodel testing-deployment-bert");
    let create = pos("apply --field-manager=kubectl-hyperpod-test-deployment");
    let watch = pos(TEST_MODEL_WATCH);
    assert!(delete_old < create && create < watch, "{}", log.join("\n"));
    assert!(test_model(&sb).is_none(), "the passing test model was kept");

    // A model the operator never reports on: the wait runs to its deadline and says so (exit 6),
    // keeping the model. A leftover test model makes the step run although nothing changed.
    sb.kube_config(serde_json::json!({"modelOperator": "off"}));
    sb.kube_objects(serde_json::json!({
        "apiVersion": "inference.sagemaker.aws.amazon.com/v1",
        "kind": "JumpStartModel",
        "metadata": {"name": "testing-deployment-bert", "namespace": "default"},
        "spec": {"model": {"modelId": common::BERT_MODEL_ID}, "server": {"instanceType": common::BERT_INSTANCE_TYPE}},
    }));
    let t = run_setup(&sb, &["--yes", "--timeout", "5s", "-o", "json"], &[]);
    assert_eq!(
        t.code,
        6,
        "a wait past its deadline exits 6:\n{}",
        t.describe()
    );
    let err = &t.json()["error"];
    assert_eq!(err["kind"], "timed_out", "{err}");
    assert_eq!(err["step"], "test-deployment");
    let text = err["message"].as_str().unwrap();
    for part in [
        "timed out after 5s waiting for jumpstartmodel default/testing-deployment-bert to deploy",
        "the inference operator has not reported on this resource",
        "is kept for inspection",
    ] {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }
    assert!(
        test_model(&sb).is_some(),
        "the timed-out test model was removed"
    );
}

/// The command between backquotes after `grant it with` in a refusal, as argv (without `kubectl
/// hyperpod`).
fn granting_command(stderr: &str) -> Vec<String> {
    let start = stderr.find("`kubectl hyperpod setup ").expect(stderr) + 1;
    let end = stderr[start..].find('`').expect(stderr) + start;
    stderr[start..end]
        .split_whitespace()
        .skip(2)
        .map(str::to_string)
        .collect()
}

/// An S3 custom model whose bucket the S3 CSI driver's role cannot read is refused before it is
/// created, with the setup command that grants it (`--model-bucket`); after that command the same
/// deploy passes. Grants add up (a second bucket keeps the first); teardown removes the policy.
#[test]
fn a_model_bucket_the_csi_role_cannot_read_is_refused_with_the_setup_command_that_grants_it() {
    // Over 80 lines: the refusal, the grant it names and the deploy that then works, in order on one cluster.
    let sb = cloud().sandbox();
    sb.kube_config(serde_json::json!({"modelOperator": "complete", "modelDelaySeconds": 0.2}));
    let hp = &sb.hyperpod_cluster;
    // Setup's test model gets deploy's placement check before it is created: here an instance
    // type the HyperPod cluster has no instance group of. The rest of the setup is done.
    let setup = run_setup(
        &sb,
        &["--yes", "--test-instance-type", "ml.g5.2xlarge"],
        &[],
    );
    setup.exits(2).stderr_has(&[
        "step test-deployment",
        "invalid --test-instance-type",
        &format!("ml.g5.2xlarge: not an instance group of HyperPod cluster {hp}"),
        "the cluster can place it on ml.c5.2xlarge (1 node(s), no GPU), ml.g5.8xlarge",
        "--skip-test-deployment",
    ]);
    assert!(
        test_model(&sb).is_none(),
        "the unplaceable test model was created"
    );
    assert!(
        !sb.tool_log_lines()
            .iter()
            .any(|l| l.contains("kubectl-hyperpod-test-deployment")),
        "{}",
        sb.tool_log_lines().join("\n")
    );
    let models = format!("{}-models", sb.bucket);
    let deploy = |bucket: &str| {
        sb.hyperpod(&[
            "deploy",
            "custom",
            "--name",
            "s3-model",
            "--model-name",
            "llama",
            "--instance-type",
            "ml.g5.8xlarge",
            "--model-source",
            "s3",
            "--s3-bucket",
            bucket,
            "--s3-region",
            &sb.region,
            "--model-location",
            "llama/8b",
            "--image",
            "763104351884.dkr.ecr.us-west-2.amazonaws.com/djl-inference:0.32.0-lmi14.0.0-cu124",
            "--container-port",
            "8000",
            "--gpus",
            "1",
        ])
    };
    sb.clear_tool_log();
    let refused = deploy(&models);
    refused.exits(2).stderr_has(&[
        "invalid --s3-bucket",
        &format!("the S3 CSI driver's role SM_HP_S3_CSI_ROLE-{hp} may not read it"),
        &format!("no s3:ListBucket on arn:aws:s3:::{models}"),
        &format!(
            "`kubectl hyperpod setup --hyperpod-cluster {hp} --s3-bucket {} --model-bucket {models} --iam-only --region {}`",
            sb.bucket, sb.region
        ),
    ]);
    let log = sb.tool_log_lines();
    assert!(
        !log.iter().any(|l| l.contains(" apply")),
        "applied although unreadable:\n{}",
        log.join("\n")
    );
    // The role and its policies were read in one answer, once.
    assert_eq!(
        log.iter()
            .filter(|l| l.contains("get-account-authorization-details"))
            .count(),
        1,
        "{}",
        log.join("\n")
    );
    for per_name in [
        "list-attached-role-policies",
        "list-role-policies",
        "get-policy-version",
    ] {
        assert!(
            !log.iter().any(|l| l.contains(per_name)),
            "{per_name}:\n{}",
            log.join("\n")
        );
    }
    // The setup bucket itself is readable (the guide's S3 policy grants it).
    deploy(&sb.bucket).success();
    sb.hyperpod(&["delete", "s3-model"]).success();

    // The printed command, as printed (plus --yes: no terminal here), grants it.
    let mut grant = granting_command(&refused.stderr);
    grant.push("--yes".into());
    let g: Vec<&str> = grant.iter().map(String::as_str).collect();
    sb.hyperpod(&g).success();
    let policy_arn = format!(
        "arn:aws:iam::{}:policy/S3ModelBucketReadPolicy-{hp}",
        sb.account
    );
    let attached = attached_policy_arns(&sb, &format!("SM_HP_S3_CSI_ROLE-{hp}"));
    assert!(attached.contains(&policy_arn), "{attached:?}");
    let tags = sb.aws_json(&["iam", "list-policy-tags", "--policy-arn", &policy_arn]);
    assert!(
        tags["Tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["Key"] == "managed-by" && t["Value"] == "kubectl-hyperpod"),
        "{tags}"
    );
    deploy(&models)
        .success()
        .stdout_has(&["DeploymentComplete"]);

    // A second bucket is added to the first; a re-run without --model-bucket keeps both.
    let more = format!("{}-more", sb.bucket);
    run_setup(
        &sb,
        &[
            "--model-bucket",
            &format!("s3://{more}"),
            "--iam-only",
            "--yes",
        ],
        &[],
    )
    .success();
    run_setup(&sb, &["--iam-only", "--yes"], &[])
        .success()
        .stdout_has(&["Everything is already in place"]);
    let v = sb.aws_json(&["iam", "get-policy", "--policy-arn", &policy_arn]);
    let doc = sb.aws_json(&[
        "iam",
        "get-policy-version",
        "--policy-arn",
        &policy_arn,
        "--version-id",
        v["Policy"]["DefaultVersionId"].as_str().unwrap(),
    ]);
    let text = doc["PolicyVersion"]["Document"].to_string();
    for b in [&models, &more] {
        assert!(text.contains(&format!("arn:aws:s3:::{b}/*")), "{b}: {text}");
    }
    sb.hyperpod(&["delete", "s3-model"]).success();
    sb.hyperpod(&["teardown", "--hyperpod-cluster", hp, "--yes"])
        .success();
    sb.aws(&["iam", "get-policy", "--policy-arn", &policy_arn])
        .exits(255);
}
