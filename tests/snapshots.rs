//! Snapshot tests (insta) of what users see: every `--help`, every template rendered through the
//! product's render entry points, `setup --dry-run --offline -o json` for the flag combinations that
//! change the plan, and doctor's text and JSON report for fixed check results.
//!
//! Reviewed snapshots live in tests/snapshots/. A change shows as a failing test plus a
//! `.snap.new` file; review with `cargo insta review`, or accept all with
//! `INSTA_UPDATE=always cargo test --test snapshots`. Under CI=true nothing is written and a
//! missing snapshot fails.

use std::collections::BTreeMap;
use std::process::Command as Process;

use clap::CommandFactory;
use kubectl_hyperpod::cli::Cli;
use kubectl_hyperpod::deploy::resource::{
    parse_env, Autoscaling, CustomInput, JumpStartInput, ModelSource, DEFAULT_MOUNT_PATH,
    DEFAULT_VOLUME_NAME,
};
use kubectl_hyperpod::doctor::{CheckResult, Fix, FixCommand, Group, Report, Status};
use kubectl_hyperpod::install::documents::{
    self, AddonConfiguration, DevicePluginContext, ModelBucketsContext, NamespaceContext,
    OperatorValues, PolicyContext, ServiceAccountContext,
};
use kubectl_hyperpod::install::trust::{trust_policy, Oidc};
use kubectl_hyperpod::ui::{to_json, to_yaml};
use serde_json::Value;

#[path = "common/guide.rs"]
mod guide;
use guide::BERT_MODEL_ID;

/// Checks every (name, text) snapshot, so one run reports (and writes `.snap.new` for) all the
/// mismatches rather than stopping at the first.
fn assert_all(snapshots: Vec<(String, String)>) {
    let mut failed = Vec::new();
    for (name, text) in snapshots {
        let result = std::panic::catch_unwind(|| insta::assert_snapshot!(name.clone(), text));
        if result.is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "snapshots differ: {failed:?}");
}

// ---------------------------------------------------------------------------------------------
// --help

/// Every command path of the tree (the root first), without clap's generated `help`.
fn command_paths(cmd: &clap::Command, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(path.clone());
    for sub in cmd.get_subcommands() {
        path.push(sub.get_name().to_string());
        command_paths(sub, path, out);
        path.pop();
    }
}

/// What `kubectl hyperpod PATH --help` prints, at a fixed width and without colour.
fn help_text(path: &[String]) -> String {
    let cmd = Cli::command()
        .term_width(100)
        .color(clap::ColorChoice::Never);
    let mut argv = vec!["kubectl-hyperpod".to_string()];
    argv.extend(path.iter().cloned());
    argv.push("--help".into());
    match cmd.try_get_matches_from(argv) {
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => e.render().to_string(),
        other => panic!("`{} --help` did not print help: {other:?}", path.join(" ")),
    }
}

#[test]
fn help_of_every_command() {
    let mut paths = Vec::new();
    command_paths(&Cli::command(), &mut Vec::new(), &mut paths);
    assert!(paths.len() > 10, "{paths:?}");
    let snapshots = paths
        .iter()
        .map(|p| {
            let name = match p.is_empty() {
                true => "help".to_string(),
                false => format!("help_{}", p.join("_")),
            };
            (name, help_text(p))
        })
        .collect();
    assert_all(snapshots);
}

#[test]
fn in_process_help_is_what_the_binary_prints() {
    let out = Process::new(env!("CARGO_BIN_EXE_kubectl-hyperpod"))
        .args(["setup", "--help"])
        .env("COLUMNS", "100")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        help_text(&["setup".to_string()])
    );
}

// ---------------------------------------------------------------------------------------------
// templates

const OIDC_HOST: &str = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

fn labels() -> documents::Labels {
    documents::k8s_labels()
}

fn annotations() -> documents::Labels {
    documents::k8s_annotations("my-hp")
}

fn json_doc(doc: kubectl_hyperpod::Result<Value>) -> String {
    to_json(&doc.unwrap()).unwrap()
}

fn yaml_doc(doc: kubectl_hyperpod::Result<Value>) -> String {
    to_yaml(&doc.unwrap()).unwrap()
}

fn trust(subject: &str, like: bool, sagemaker: bool) -> String {
    let oidc = Oidc::new("111122223333", &format!("https://{OIDC_HOST}"));
    json_doc(trust_policy(&oidc, subject, like, sagemaker))
}

fn policy(template: &str) -> String {
    json_doc(
        PolicyContext {
            bucket: "my-tls-bucket",
        }
        .render(template),
    )
}

fn operator_values(gated: bool, fsx_chart: bool, cert_manager_chart: bool) -> String {
    let role = |n: &str| format!("arn:aws:iam::111122223333:role/{n}");
    yaml_doc(
        OperatorValues {
            region: "us-west-2",
            eks_cluster: "my-eks",
            hyperpod_cluster_arn: "arn:aws:sagemaker:us-west-2:111122223333:cluster/abcd1234efgh",
            execution_role_arn: role("HyperpodInferenceRole-my-hp"),
            bucket: "my-tls-bucket",
            gated_role_arn: gated.then(|| role("HyperpodGatedModelRole-my-hp")),
            s3_role_arn: role("SM_HP_S3_CSI_ROLE-my-hp"),
            fsx_chart_enabled: fsx_chart,
            cert_manager_chart_enabled: cert_manager_chart,
            keda_role_arn: role("keda-operator-role-my-hp"),
            vpc_id: "vpc-0123456789abcdef0",
        }
        .render(),
    )
}

/// The operator add-on's configuration (roles as setup names them).
fn addon_configuration(gated: bool) -> String {
    let role = |n: &str| format!("arn:aws:iam::111122223333:role/{n}");
    json_doc(
        AddonConfiguration {
            execution_role_arn: role("SageMakerHyperPodInference-my-hp"),
            bucket: "my-tls-bucket",
            hyperpod_cluster_arn: "arn:aws:sagemaker:us-west-2:111122223333:cluster/abcd1234efgh",
            gated_role_arn: gated.then(|| role("HyperpodGatedModelRole-my-hp")),
            alb_role_arn: role("SageMakerHP-ALB-my-hp"),
            keda_role_arn: role("SageMakerHP-KEDA-my-hp"),
        }
        .render(),
    )
}

fn env_vars(kvs: &[&str]) -> Vec<kubectl_hyperpod::deploy::resource::EnvVar> {
    kvs.iter()
        .map(|kv| parse_env("--env", kv).unwrap())
        .collect()
}

fn autoscaling() -> Autoscaling {
    Autoscaling {
        min_replicas: Some(1),
        max_replicas: Some(4),
        metric_name: Some("Invocations".into()),
        metric_namespace: Some("AWS/SageMaker".into()),
        dimensions: vec![("EndpointName".into(), "my-endpoint".into())],
        target_value: Some(10.0),
        metric_stat: Some("Sum".into()),
        metric_type: Some("Average".into()),
        cooldown_period: Some(120),
        ..Default::default()
    }
}

fn jumpstart(input: JumpStartInput) -> String {
    to_yaml(&input.render().unwrap()).unwrap()
}

/// The guide's "Deploy Custom Model" example, as `deploy custom` flags give it.
fn custom_input() -> CustomInput {
    CustomInput {
        name: "my-custom-model".into(),
        namespace: "default".into(),
        model_name: "llama-3-8b-instruct".into(),
        model_version: None,
        endpoint_name: Some("my-custom-endpoint".into()),
        instance_type: "ml.g5.24xlarge".into(),
        invocation_endpoint: Some("v1/chat/completions".into()),
        replicas: Some(1),
        source: ModelSource::S3 {
            bucket: "my-model-bucket".into(),
            region: "us-west-2".into(),
        },
        model_location: Some("models/llama-3-8b".into()),
        prefetch: true,
        image: "763104351884.dkr.ecr.us-west-2.amazonaws.com/djl-inference:0.32.0-lmi14.0.0-cu124"
            .into(),
        cpu: Some("30".into()),
        memory: Some("100Gi".into()),
        gpus: Some(4),
        cpu_limit: None,
        memory_limit: None,
        container_port: 8000,
        port_name: "http".into(),
        env: env_vars(&["SAGEMAKER_ENV=1", "OPTION_ROLLING_BATCH=vllm"]),
        volume_name: DEFAULT_VOLUME_NAME.into(),
        mount_path: DEFAULT_MOUNT_PATH.into(),
        tls_output_s3_uri: None,
        max_deploy_time: None,
        autoscaling: Autoscaling::default(),
        extras: Default::default(),
        features: Default::default(),
        overrides: Default::default(),
    }
}

fn custom(input: CustomInput) -> String {
    to_yaml(&input.render().unwrap()).unwrap()
}

#[test]
fn every_template_rendered() {
    // Over 80 lines: a table of every template and its inputs.
    let operator_sa = "system:serviceaccount:hyperpod-inference-system:hyperpod-inference-operator-controller-manager";
    let snapshots: Vec<(&str, String)> = vec![
        ("template_irsa_trust", trust(operator_sa, false, true)),
        (
            "template_irsa_trust_like_without_sagemaker",
            trust("system:serviceaccount:*:keda-operator", true, false),
        ),
        (
            "template_operator_permissions",
            policy("iam/operator-permissions.json.j2"),
        ),
        (
            "template_s3_mountpoint",
            policy("iam/s3-mountpoint.json.j2"),
        ),
        (
            "template_s3_model_buckets",
            json_doc(
                ModelBucketsContext {
                    buckets: &["my-models".into(), "team-b-models".into()],
                }
                .render(),
            ),
        ),
        (
            "template_keda_permissions",
            policy("iam/keda-permissions.json.j2"),
        ),
        ("template_tls_bucket", policy("iam/tls-bucket.json.j2")),
        ("template_addon_configuration", addon_configuration(false)),
        (
            "template_addon_configuration_gated",
            addon_configuration(true),
        ),
        (
            "template_alb_controller",
            policy("iam/alb-controller-v2.13.0.json"),
        ),
        (
            "template_namespace",
            yaml_doc(
                NamespaceContext {
                    name: "hyperpod-inference-system",
                    labels: labels(),
                    annotations: annotations(),
                }
                .render(),
            ),
        ),
        (
            "template_service_account",
            yaml_doc(
                ServiceAccountContext {
                    name: "aws-load-balancer-controller",
                    namespace: "kube-system",
                    labels: labels(),
                    annotations: {
                        let mut a = annotations();
                        a.insert(
                            "eks.amazonaws.com/role-arn".into(),
                            "arn:aws:iam::111122223333:role/aws-load-balancer-controller-my-hp"
                                .into(),
                        );
                        a
                    },
                }
                .render(),
            ),
        ),
        (
            "template_nvidia_device_plugin",
            yaml_doc(
                DevicePluginContext {
                    version: "v0.17.1",
                    labels: labels(),
                }
                .render(),
            ),
        ),
        (
            "template_operator_values",
            operator_values(false, true, true),
        ),
        (
            "template_operator_values_gated_fsx_addon_cert_manager",
            operator_values(true, false, false),
        ),
        (
            "template_jumpstart_model",
            jumpstart(JumpStartInput {
                name: "my-bert-model".into(),
                namespace: "default".into(),
                model_id: BERT_MODEL_ID.into(),
                endpoint_name: Some("my-bert-endpoint".into()),
                instance_type: "ml.c5.2xlarge".into(),
                env: env_vars(&["SAMPLE_ENV_VAR=sample_value"]),
                max_deploy_time: Some(1800),
                ..Default::default()
            }),
        ),
        (
            "template_jumpstart_model_minimal",
            jumpstart(JumpStartInput {
                name: "hp-test".into(),
                namespace: "default".into(),
                model_id: BERT_MODEL_ID.into(),
                instance_type: "ml.g5.8xlarge".into(),
                ..Default::default()
            }),
        ),
        (
            "template_jumpstart_model_every_field",
            jumpstart(JumpStartInput {
                name: "llama".into(),
                namespace: "models".into(),
                model_id: "meta-textgeneration-llama-3-8b".into(),
                model_version: Some("2.1.0".into()),
                accept_eula: true,
                endpoint_name: Some("llama-endpoint".into()),
                instance_type: "ml.g5.12xlarge".into(),
                env: env_vars(&["A=1", "B=two words"]),
                replicas: Some(2),
                tls_output_s3_uri: Some("s3://my-tls-bucket/certs".into()),
                max_deploy_time: Some(3600),
                gated_model_role: Some(
                    "arn:aws:iam::111122223333:role/HyperpodGatedModelRole-my-hp".into(),
                ),
                autoscaling: autoscaling(),
                ..Default::default()
            }),
        ),
        ("template_inference_endpoint_config", custom(custom_input())),
        (
            "template_inference_endpoint_config_fsx_every_field",
            custom(CustomInput {
                model_version: Some("1.0.0".into()),
                source: ModelSource::Fsx {
                    file_system_id: "fs-0123456789abcdef0".into(),
                    dns_name: Some("fs-0123456789abcdef0.fsx.us-west-2.amazonaws.com".into()),
                    mount_name: Some("abcdefgh".into()),
                },
                prefetch: false,
                cpu_limit: Some("32".into()),
                memory_limit: Some("120Gi".into()),
                tls_output_s3_uri: Some("s3://my-tls-bucket/certs".into()),
                max_deploy_time: Some(3600),
                autoscaling: autoscaling(),
                ..custom_input()
            }),
        ),
        (
            "template_inference_endpoint_config_minimal",
            custom(CustomInput {
                model_version: None,
                endpoint_name: None,
                invocation_endpoint: None,
                replicas: None,
                model_location: None,
                prefetch: false,
                cpu: None,
                memory: None,
                gpus: None,
                env: vec![],
                ..custom_input()
            }),
        ),
    ];
    // Every embedded template has at least one snapshot.
    let files: BTreeMap<&str, &str> = [
        ("iam/irsa-trust.json.j2", "template_irsa_trust"),
        (
            "iam/operator-permissions.json.j2",
            "template_operator_permissions",
        ),
        ("iam/s3-mountpoint.json.j2", "template_s3_mountpoint"),
        ("iam/s3-model-buckets.json.j2", "template_s3_model_buckets"),
        ("iam/keda-permissions.json.j2", "template_keda_permissions"),
        ("iam/tls-bucket.json.j2", "template_tls_bucket"),
        (
            "addon/operator-configuration.json.j2",
            "template_addon_configuration",
        ),
        ("iam/alb-controller-v2.13.0.json", "template_alb_controller"),
        ("k8s/namespace.yaml.j2", "template_namespace"),
        ("k8s/service-account.yaml.j2", "template_service_account"),
        (
            "k8s/nvidia-device-plugin.yaml.j2",
            "template_nvidia_device_plugin",
        ),
        ("k8s/jumpstart-model.yaml.j2", "template_jumpstart_model"),
        (
            "k8s/inference-endpoint-config.yaml.j2",
            "template_inference_endpoint_config",
        ),
        ("helm/operator-values.yaml.j2", "template_operator_values"),
    ]
    .into_iter()
    .collect();
    for (template, _) in kubectl_hyperpod::render::TEMPLATES {
        let snap = files
            .get(template)
            .unwrap_or_else(|| panic!("template {template} has no snapshot here"));
        assert!(snapshots.iter().any(|(n, _)| n == snap), "{snap}");
    }
    assert_all(
        snapshots
            .into_iter()
            .map(|(n, t)| (n.to_string(), t))
            .collect(),
    );
}

// ---------------------------------------------------------------------------------------------
// setup --dry-run --offline -o json

/// `setup --dry-run --offline` with `flags`, untouched by the environment's AWS and chart settings.
fn setup_offline_cmd(flags: &[&str]) -> Process {
    offline_cmd(&["setup"], flags)
}

/// `<command> --hyperpod-cluster my-hp ... --dry-run --offline <flags>` (setup, migrate).
fn offline_cmd(command: &[&str], flags: &[&str]) -> Process {
    let mut cmd = Process::new(env!("CARGO_BIN_EXE_kubectl-hyperpod"));
    cmd.args(command)
        .args(["--hyperpod-cluster", "my-hp", "--region", "us-west-2"])
        .args(["--s3-bucket", "my-tls-bucket", "--dry-run", "--offline"])
        .args(flags);
    for var in [
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "HP_CHART_DIR",
        "KUBECONFIG",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// What `setup --dry-run --offline` prints on stdout for `flags` (with `-o json` or as text),
/// with the machine's chart cache directory redacted.
fn offline_setup(flags: &[&str]) -> String {
    let out = setup_offline_cmd(flags).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "setup {flags:?}: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    static CACHE_DIR: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    stdout.replace(CACHE_DIR.get_or_init(chart_cache_dir), "[CHART_CACHE_DIR]")
}

/// Where setup caches the chart on this machine, as its plan says.
fn chart_cache_dir() -> String {
    let out = setup_offline_cmd(&["-o", "json"]).output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    doc["plan"]["context"]["chart"]["cache_dir"]
        .as_str()
        .unwrap_or_else(|| panic!("no chart cache directory in the plan: {out:?}"))
        .to_string()
}

fn offline_plan(flags: &[&str]) -> String {
    let mut flags = flags.to_vec();
    flags.extend(["-o", "json"]);
    offline_setup(&flags)
}

#[test]
fn setup_offline_plans() {
    let combos: &[(&str, &[&str])] = &[
        ("setup_plan_default", &[]),
        ("setup_plan_addon", &["--method", "addon"]),
        (
            "setup_plan_addon_gated",
            &["--method", "addon", "--enable-jumpstart-gated"],
        ),
        ("setup_plan_iam_only", &["--iam-only"]),
        (
            "setup_plan_iam_only_model_buckets",
            &[
                "--iam-only",
                "--model-bucket",
                "my-models",
                "--model-bucket",
                "s3://team-b-models",
            ],
        ),
        (
            "setup_plan_fsx_and_gated",
            &["--install-fsx-csi", "--enable-jumpstart-gated"],
        ),
        (
            "setup_plan_skip_s3_nvidia_test",
            &[
                "--skip-s3-csi",
                "--skip-nvidia-plugin",
                "--skip-test-deployment",
            ],
        ),
        (
            "setup_plan_name_overrides",
            &[
                "--install-fsx-csi",
                "--enable-jumpstart-gated",
                "--operator-role-name",
                "my-operator-role",
                "--alb-role-name",
                "my-alb-role",
                "--s3-csi-role-name",
                "my-s3-role",
                "--keda-role-name",
                "my-keda-role",
                "--alb-policy-name",
                "my-alb-policy",
                "--s3-policy-name",
                "my-s3-policy",
                "--fsx-csi-role-name",
                "my-fsx-role",
                "--gated-model-role-name",
                "my-gated-role",
            ],
        ),
    ];
    let mut snapshots: Vec<(String, String)> = combos
        .iter()
        .map(|(name, flags)| (name.to_string(), offline_plan(flags)))
        .collect();
    // The text form: the plan, its closing line, the roles.
    snapshots.push(("setup_plan_default_text".into(), offline_setup(&[])));
    snapshots.push((
        "setup_plan_iam_only_text".into(),
        offline_setup(&["--iam-only"]),
    ));
    snapshots.push((
        "setup_plan_addon_text".into(),
        offline_setup(&["--method", "addon"]),
    ));
    assert_all(snapshots);
}

// ---------------------------------------------------------------------------------------------
// doctor's report

fn result(
    id: &'static str,
    group: Group,
    title: &str,
    status: Status,
    finding: &str,
) -> CheckResult {
    CheckResult {
        id,
        group,
        title: title.into(),
        subject: None,
        status,
        finding: finding.into(),
        details: vec![],
        fix: None,
    }
}

fn command(argv: &[&str], stdin: Option<&str>) -> FixCommand {
    FixCommand::new(
        argv.iter().map(|a| a.to_string()).collect(),
        stdin.map(str::to_string),
    )
}

/// One result of every status, with and without subjects, details and (automatic) fixes.
fn fixed_report() -> Report {
    let role = "HyperpodInferenceRole-my-hp";
    Report::new(vec![
        result("HP101", Group::Tools, "aws CLI", Status::Pass, "aws-cli/2.27.0"),
        result("HP102", Group::Tools, "kubectl", Status::Pass, "v1.37.0"),
        CheckResult {
            fix: Some(Fix {
                summary: "install helm 3.x: https://helm.sh/docs/intro/install/".into(),
                automatic: false,
                commands: vec![],
            }),
            ..result("HP103", Group::Tools, "helm", Status::Fail, "not found on PATH")
        },
        result(
            "HP201",
            Group::Aws,
            "AWS credentials",
            Status::Pass,
            "arn:aws:iam::111122223333:user/admin",
        ),
        CheckResult {
            fix: Some(Fix {
                summary: "create the cluster's IAM OIDC provider".into(),
                automatic: true,
                commands: vec![command(
                    &[
                        "aws",
                        "iam",
                        "create-open-id-connect-provider",
                        "--url",
                        "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE",
                        "--client-id-list",
                        "sts.amazonaws.com",
                        "--region",
                        "us-west-2",
                    ],
                    None,
                )],
            }),
            ..result(
                "HP401",
                Group::Iam,
                "OIDC provider",
                Status::Fail,
                "the cluster's OIDC issuer has no IAM OIDC provider",
            )
        },
        CheckResult {
            subject: Some(role.into()),
            details: vec![
                "allowed: system:serviceaccount:default:wrong".into(),
                "expected: system:serviceaccount:hyperpod-inference-system:\n  hyperpod-inference-operator-controller-manager".into(),
            ],
            fix: Some(Fix {
                summary: format!("replace the trust policy of {role}"),
                automatic: true,
                commands: vec![command(
                    &["aws", "iam", "update-assume-role-policy", "--role-name", role, "--policy-document", r#"{"Version": "2012-10-17", "Statement": "it's"}"#],
                    None,
                )],
            }),
            ..result(
                "HP402",
                Group::Iam,
                "role trust",
                Status::Warn,
                "trusts a ServiceAccount the operator does not run as",
            )
        },
        CheckResult {
            fix: Some(Fix {
                summary: "annotate the ServiceAccount with its role".into(),
                automatic: false,
                commands: vec![command(
                    &["kubectl", "apply", "-f", "-"],
                    Some("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: x\n"),
                )],
            }),
            ..result(
                "HP503",
                Group::Operator,
                "operator ServiceAccount",
                Status::Warn,
                "has no eks.amazonaws.com/role-arn annotation",
            )
        },
        result(
            "HP601",
            Group::AddOns,
            "cert-manager",
            Status::Skipped,
            "skipped: HP301 (cluster access) failed",
        ),
        CheckResult {
            subject: Some("default/my-bert".into()),
            ..result("HP701", Group::Models, "model status", Status::Pass, "serving")
        },
    ])
}

#[test]
fn doctor_report_text_and_json() {
    let report = fixed_report();
    let text = report.render_text(&|_, mark| mark.to_string());
    assert_all(vec![
        ("doctor_report_text".into(), text),
        ("doctor_report_json".into(), to_json(&report).unwrap()),
        (
            "doctor_report_all_passed_text".into(),
            Report::new(vec![result(
                "HP101",
                Group::Tools,
                "aws CLI",
                Status::Pass,
                "ok",
            )])
            .render_text(&|_, mark| mark.to_string()),
        ),
    ]);
}

// ---------------------------------------------------------------------------------------------
// migrate --to addon --dry-run --offline

#[test]
fn migrate_offline_plan() {
    let run = |flags: &[&str]| {
        let out = offline_cmd(&["migrate", "--to", "addon"], flags)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "migrate {flags:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_all(vec![
        ("migrate_plan_text".into(), run(&[])),
        ("migrate_plan".into(), run(&["-o", "json"])),
    ]);
}
