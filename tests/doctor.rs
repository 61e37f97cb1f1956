//! `kubectl hyperpod doctor` end to end: a healthy cluster passes every check; each breakage
//! users hit is reported by the right check with a fix that works when run (as the printed
//! shell line); `--fix --yes` repairs the safe ones and the re-check passes.
//! Over 800 lines on purpose: every test binary starts its own emulated cloud (tests/common), so
//! one file per command keeps the suite to a few clouds; the tests are independent and run in parallel.

mod common;

use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;

use common::{cloud, wait_until, Profile, Sandbox, World};
use serde_json::{json, Value};

const OPERATOR_NS: &str = "hyperpod-inference-system";
const OPERATOR_SA: &str = "hyperpod-inference-operator-controller-manager";
const OPERATOR_DEPLOYMENT: &str = "hyperpod-inference-operator-controller-manager";
const GUIDE_WRONG_SA: &str = "hyperpod-inference-operator-controller";
const SERVER_VERSION: &str = "v1.36.2-eks-3025e55";

struct RoleDef {
    name: String,
    ns: &'static str,
    sa: &'static str,
    sagemaker: bool,
}

fn roles(sb: &Sandbox) -> Vec<RoleDef> {
    let hp = &sb.hyperpod_cluster;
    vec![
        RoleDef {
            name: format!("HyperpodInferenceRole-{hp}"),
            ns: OPERATOR_NS,
            sa: OPERATOR_SA,
            sagemaker: true,
        },
        RoleDef {
            name: format!("aws-load-balancer-controller-{hp}"),
            ns: "kube-system",
            sa: "aws-load-balancer-controller",
            sagemaker: false,
        },
        RoleDef {
            name: format!("SM_HP_S3_CSI_ROLE-{hp}"),
            ns: "kube-system",
            sa: "s3-csi-driver-sa",
            sagemaker: false,
        },
        RoleDef {
            name: format!("keda-operator-role-{hp}"),
            // The chart's keda subchart installs into the release namespace.
            ns: "kube-system",
            sa: "keda-operator",
            sagemaker: false,
        },
    ]
}

fn role_arn(sb: &Sandbox, name: &str) -> String {
    format!("arn:aws:iam::{}:role/{name}", sb.account)
}

fn oidc_host(sb: &Sandbox) -> String {
    sb.oidc_issuer.trim_start_matches("https://").to_string()
}

fn provider_arn(sb: &Sandbox) -> String {
    format!(
        "arn:aws:iam::{}:oidc-provider/{}",
        sb.account,
        oidc_host(sb)
    )
}

/// The trust policy setup writes (templates/iam/irsa-trust.json.j2 with sub_like = false).
fn trust(sb: &Sandbox, subject: &str, sagemaker: bool) -> Value {
    let host = oidc_host(sb);
    let mut st = vec![json!({
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn(sb)},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {format!("{host}:aud"): "sts.amazonaws.com", format!("{host}:sub"): subject}}
    })];
    if sagemaker {
        st.push(json!({"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}));
    }
    json!({"Version": "2012-10-17", "Statement": st})
}

fn write(sb: &Sandbox, name: &str, text: &str) -> PathBuf {
    let p = sb.dir().join(name);
    fs::write(&p, text).expect("write test file");
    p
}

/// Nodes as a HyperPod GPU instance group registers them.
fn gpu_nodes(gpus: &str) -> Value {
    let node = |name: &str| {
        json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {
                "node.kubernetes.io/instance-type": "ml.g5.12xlarge",
                "kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux"}},
            "status": {
                "capacity": {"cpu": "48", "memory": "192Gi", "nvidia.com/gpu": gpus},
                "allocatable": {"cpu": "47", "memory": "180Gi", "nvidia.com/gpu": gpus},
                "conditions": [{"type": "Ready", "status": "True"}]}})
    };
    json!([node("hyperpod-i-0aaa"), node("hyperpod-i-0bbb")])
}

/// What setup creates itself besides the chart: the namespaces, the ALB ServiceAccount, the
/// NVIDIA device plugin.
fn cluster_extras(sb: &Sandbox) -> String {
    let alb = role_arn(
        sb,
        &format!("aws-load-balancer-controller-{}", sb.hyperpod_cluster),
    );
    [
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: keda\n".to_string(),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: cert-manager\n".to_string(),
        format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: aws-load-balancer-controller\n  namespace: kube-system\n  annotations:\n    eks.amazonaws.com/role-arn: {alb}\n"),
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: nvidia-device-plugin-daemonset\n  namespace: kube-system\nspec:\n  selector:\n    matchLabels:\n      name: nvidia-device-plugin-ds\n  template:\n    metadata:\n      labels:\n        name: nvidia-device-plugin-ds\n    spec:\n      containers:\n      - name: nvidia-device-plugin-ctr\n        image: nvcr.io/nvidia/k8s-device-plugin:v0.14.5\n".to_string(),
    ]
    .join("---\n")
}

#[track_caller]
fn ok(r: common::Run) -> common::Run {
    r.success();
    r
}

/// An aws call of the test's own, retried once when the emulator garbled its answer.
#[track_caller]
fn aws_ok(sb: &Sandbox, args: &[&str]) -> common::Run {
    let r = sb.aws(args);
    if r.code != 0 && r.stderr.contains("Unable to parse response") {
        let again = sb.aws(args);
        // The garbled answer may have been to a write that happened.
        if again.stderr.contains("EntityAlreadyExists") {
            return again;
        }
        return ok(again);
    }
    ok(r)
}

/// Builds, without `setup`, the state setup leaves: OIDC provider, the four roles trusting the
/// chart's real ServiceAccounts, the S3 CSI and cert-manager add-ons, the operator chart (with
/// its ALB controller and KEDA; its cert-manager left out for the add-on's), the device plugin,
/// and two GPU nodes.
fn healthy(sb: &Sandbox) {
    sb.write_direct_kubeconfig();
    // Within kubectl's supported skew (the emulator's default, 1.33, is four minors behind kubectl 1.37).
    sb.kube_config(json!({"serverVersion": SERVER_VERSION}));
    let hp = sb.hyperpod_cluster.clone();
    let arn = |n: &str| role_arn(sb, n);
    std::thread::scope(|s| {
        // IAM writes one after another: moto's IAM has answered concurrent creates with an
        // empty body ("Unable to parse response ... invalid XML received").
        s.spawn(|| {
            aws_ok(
                sb,
                &[
                    "iam",
                    "create-open-id-connect-provider",
                    "--url",
                    &sb.oidc_issuer,
                    "--client-id-list",
                    "sts.amazonaws.com",
                ],
            );
            for r in roles(sb) {
                let doc = trust(
                    sb,
                    &format!("system:serviceaccount:{}:{}", r.ns, r.sa),
                    r.sagemaker,
                )
                .to_string();
                aws_ok(
                    sb,
                    &[
                        "iam",
                        "create-role",
                        "--role-name",
                        &r.name,
                        "--assume-role-policy-document",
                        &doc,
                    ],
                );
            }
        });
        s.spawn(|| {
            let s3 = arn(&format!("SM_HP_S3_CSI_ROLE-{hp}"));
            ok(sb.aws(&[
                "eks",
                "create-addon",
                "--cluster-name",
                &sb.eks_cluster,
                "--addon-name",
                "aws-mountpoint-s3-csi-driver",
                "--service-account-role-arn",
                &s3,
            ]));
            ok(sb.aws(&[
                "eks",
                "create-addon",
                "--cluster-name",
                &sb.eks_cluster,
                "--addon-name",
                "cert-manager",
            ]));
            for a in ["aws-mountpoint-s3-csi-driver", "cert-manager"] {
                ok(sb.aws(&[
                    "eks",
                    "wait",
                    "addon-active",
                    "--cluster-name",
                    &sb.eks_cluster,
                    "--addon-name",
                    a,
                ]));
            }
        });
        s.spawn(|| {
            sb.kube_objects(gpu_nodes("4"));
            let f = write(sb, "extras.yaml", &cluster_extras(sb));
            ok(sb.kubectl(&["apply", "-f", &f.display().to_string()]));
        });
    });
    // After cert-manager: the chart's Certificate and Issuer need its CRDs (tests/world.rs).
    install_chart(sb);
}

/// A healthy cluster of the test's own, for a test that breaks something: built by hand
/// ([`healthy`]) on the empty `bare` profile.
fn own_healthy_cluster() -> Sandbox {
    let sb = World::profile(Profile::Bare).build();
    healthy(&sb);
    sb
}

/// The cluster `setup` made, shared by the tests that only read it (a view with the test's own
/// tool log and kubeconfig): a new HyperPod cluster with two GPU nodes, set up with setup's own
/// test deployment. Nothing applied by hand: the ALB controller, KEDA and cert-manager come from
/// the chart's subcharts, as on a real cluster.
fn set_up_cluster() -> Sandbox {
    static SET_UP: OnceLock<Sandbox> = OnceLock::new();
    World::fresh()
        .models_complete(0.2)
        .kube(json!({"serverVersion": SERVER_VERSION}))
        .objects(gpu_nodes("4"))
        .setup_args(&["--yes"])
        .shared(&SET_UP)
}

fn install_chart(sb: &Sandbox) {
    let hp = &sb.hyperpod_cluster;
    let chart = Sandbox::chart_dir().display().to_string();
    let sets = [
        format!("region={}", sb.region),
        format!("eksClusterName={}", sb.eks_cluster),
        format!("hyperpodClusterArn={}", sb.hyperpod_cluster_arn),
        format!(
            "executionRoleArn={}",
            role_arn(sb, &format!("HyperpodInferenceRole-{hp}"))
        ),
        format!("tlsCertificateS3Bucket=s3://{}", sb.bucket),
        format!(
            "s3.serviceAccountRoleArn={}",
            role_arn(sb, &format!("SM_HP_S3_CSI_ROLE-{hp}"))
        ),
        // The S3 CSI driver comes from its EKS add-on here, as setup does it: the chart's own
        // copy would collide with the add-on's CSIDriver.
        "s3.enabled=false".to_string(),
        "s3.node.serviceAccount.create=false".to_string(),
        format!(
            "keda.podIdentity.aws.irsa.roleArn={}",
            role_arn(sb, &format!("keda-operator-role-{hp}"))
        ),
        format!("alb.region={}", sb.region),
        format!("alb.clusterName={}", sb.eks_cluster),
        format!("alb.vpcId={}", sb.vpc_id),
        // cert-manager comes from its EKS add-on here: the chart's copy would collide with it.
        "cert-manager.enabled=false".to_string(),
    ];
    let mut args = vec![
        "upgrade",
        "--install",
        "hyperpod-inference-operator",
        chart.as_str(),
        "-n",
        "kube-system",
        "--wait",
        "--timeout",
        "120s",
    ];
    for s in &sets {
        args.extend(["--set", s.as_str()]);
    }
    ok(sb.helm(&args));
}

fn doctor_args(sb: &Sandbox, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "doctor",
        "--hyperpod-cluster",
        &sb.hyperpod_cluster,
        "--s3-bucket",
        &sb.bucket,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// `doctor` for the sandbox's cluster and bucket, with `extra` flags and environment.
fn doctor_run(sb: &Sandbox, extra: &[&str], env: &[(&str, &str)]) -> common::Run {
    let args = doctor_args(sb, extra);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    sb.hyperpod_with(&a, env)
}

/// `doctor -o json` (expected exit code), parsed.
#[track_caller]
fn doctor_json(sb: &Sandbox, extra: &[&str], code: i32) -> Value {
    let mut extra = extra.to_vec();
    extra.extend(["-o", "json"]);
    doctor_run(sb, &extra, &[]).exits(code).json()
}

/// Every check passes on a fresh run.
#[track_caller]
fn assert_all_pass(sb: &Sandbox) {
    assert_eq!(not_passing(&doctor_json(sb, &[], 0)), Vec::<String>::new());
}

fn results<'a>(doc: &'a Value, id: &str) -> Vec<&'a Value> {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == id)
        .collect()
}

/// The one result of `id` (with `subject`, when given).
#[track_caller]
fn result<'a>(doc: &'a Value, id: &str, subject: Option<&str>) -> &'a Value {
    let found: Vec<&Value> = results(doc, id)
        .into_iter()
        .filter(|c| subject.is_none_or(|s| c["subject"] == s))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{id} {subject:?} in {}",
        serde_json::to_string_pretty(doc).unwrap()
    );
    found[0]
}

/// The one result of `id` (and `subject`), which must have failed with a finding that contains
/// every one of `finding_has`.
#[track_caller]
fn failed<'a>(doc: &'a Value, id: &str, subject: Option<&str>, finding_has: &[&str]) -> &'a Value {
    let c = result(doc, id, subject);
    assert_eq!(c["status"], "fail", "{c}");
    let finding = c["finding"].as_str().unwrap();
    for part in finding_has {
        assert!(finding.contains(part), "{part:?} not in {c}");
    }
    c
}

/// The shell lines of a result's fix.
fn fix_shell(check: &Value) -> Vec<&str> {
    check["fix"]["commands"]
        .as_array()
        .unwrap_or_else(|| panic!("no fix commands in {check}"))
        .iter()
        .map(|x| x["shell"].as_str().unwrap())
        .collect()
}

fn not_passing(doc: &Value) -> Vec<String> {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "pass")
        .map(|c| {
            format!(
                "{} {} {}: {}",
                c["id"], c["subject"], c["status"], c["finding"]
            )
        })
        .collect()
}

/// Breaks IAM: the cluster's OIDC provider deleted.
fn delete_oidc_provider(sb: &Sandbox) {
    ok(sb.aws(&[
        "iam",
        "delete-open-id-connect-provider",
        "--open-id-connect-provider-arn",
        &provider_arn(sb),
    ]));
}

/// Breaks the operator's credentials: its ServiceAccount's role annotation removed.
fn remove_operator_annotation(sb: &Sandbox) {
    ok(sb.kubectl(&[
        "annotate",
        "serviceaccount",
        OPERATOR_SA,
        "-n",
        OPERATOR_NS,
        "eks.amazonaws.com/role-arn-",
    ]));
}

/// Replaces `role`'s trust policy by one admitting only `subject` (and SageMaker).
fn set_trust(sb: &Sandbox, role: &str, subject: &str, sagemaker: bool) {
    ok(sb.aws(&[
        "iam",
        "update-assume-role-policy",
        "--role-name",
        role,
        "--policy-document",
        &trust(sb, subject, sagemaker).to_string(),
    ]));
}

/// Runs every command of a fix as the copy-pasteable shell line doctor printed.
#[track_caller]
fn run_fix(sb: &Sandbox, check: &Value) {
    let cmds = check["fix"]["commands"].as_array().expect("fix commands");
    assert!(!cmds.is_empty(), "no commands in {check}");
    for c in cmds {
        let line = c["shell"].as_str().unwrap();
        let r = sb.tool("bash", &["-c", line]);
        assert_eq!(r.code, 0, "fix command failed: {line}\n{}", r.describe());
    }
}

#[test]
fn a_cluster_set_up_by_setup_passes_every_check() {
    let sb = set_up_cluster();
    let doc = doctor_json(&sb, &[], 0);
    assert_eq!(not_passing(&doc), Vec::<String>::new());
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["summary"]["problems"], 0);
    let ids: Vec<&str> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    for id in [
        "HP101", "HP102", "HP103", "HP201", "HP202", "HP203", "HP204", "HP301", "HP302", "HP401",
        "HP402", "HP403", "HP501", "HP502", "HP503", "HP601", "HP602", "HP603", "HP604", "HP605",
        "HP701", "HP702", "HP801",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    assert_eq!(results(&doc, "HP402").len(), 4);
    // The trust check names the ServiceAccount read from the operator's Deployment.
    let op = result(&doc, "HP402", Some("operator"));
    assert!(
        op["finding"].as_str().unwrap().contains(OPERATOR_SA),
        "{op}"
    );
    // Setup's kubeconfig (the `aws eks get-token` plugin) points at this cluster.
    assert!(result(&doc, "HP302", None)["finding"]
        .as_str()
        .unwrap()
        .contains(&sb.eks_cluster));

    // The text form: marks, groups and the summary line.
    let r = doctor_run(&sb, &[], &[]);
    r.success()
        .stdout_has(&["  [✓] HP401 OIDC provider: ", "\nIAM\n"]);
    assert!(
        r.stdout.trim_end().ends_with("No problems found."),
        "{}",
        r.describe()
    );
    assert!(!r.stdout.contains("[✗]") && !r.stdout.contains("[!]"));
}

#[test]
fn a_full_run_makes_few_calls_and_repeats_none() {
    let sb = set_up_cluster();
    // The kubeconfig users have: `aws eks update-kubeconfig`'s, whose `aws eks get-token` plugin
    // kubectl would run for every call (through the tool shim, so that it is counted).
    ok(sb.aws(&["eks", "update-kubeconfig", "--name", &sb.eks_cluster]));
    sb.clear_tool_log();
    let tmp = tempfile::tempdir().unwrap();
    let tmpdir = tmp.path().display().to_string();
    let run = doctor_run(&sb, &["-v", "-o", "json"], &[("TMPDIR", &tmpdir)]);
    run.exits(0);
    // The run's token (`k8s-aws-v1.` + a presigned URL) is in no output and no file left behind.
    for (what, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.contains("k8s-aws-v1."),
            "the token is in {what}:\n{text}"
        );
    }
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
    let log = sb.tool_log_lines();
    let aws: Vec<&String> = log.iter().filter(|l| l.starts_with("aws ")).collect();
    // One Kubernetes credential for the run, not one `aws eks get-token` per kubectl call.
    let tokens = aws.iter().filter(|l| l.contains("eks get-token")).count();
    assert_eq!(tokens, 1, "{}", log.join("\n"));
    // 7 with that token (13 before: 5 tokens): sagemaker and eks describe-cluster, list-roles,
    // OIDC providers, the TLS bucket, the add-on list (HP606). No `sts get-caller-identity` (the
    // account is the HyperPod cluster's ARN's) and no `aws --version` (read only on a failure).
    assert!(
        !aws.iter()
            .any(|l| l.contains("get-caller-identity") || l.contains("--version")),
        "{}",
        log.join("\n")
    );
    assert!(
        aws.len() <= 7,
        "{} aws calls:\n{}",
        aws.len(),
        log.join("\n")
    );
    // kubectl's own version comes from HP301's `kubectl version -o json`, not a call of its own.
    assert!(
        !log.iter().any(|l| l.contains("version --client")),
        "{}",
        log.join("\n")
    );
    assert!(log.len() <= 14, "{} calls:\n{}", log.len(), log.join("\n"));
    let mut sorted = log.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        log.len(),
        "a call was repeated:\n{}",
        log.join("\n")
    );
    // Nothing doctor runs changes anything.
    for l in &log {
        for verb in [
            " create",
            " delete",
            " update-",
            " annotate ",
            " apply ",
            " patch ",
            " put-",
        ] {
            assert!(!l.contains(verb), "doctor ran a mutating command: {l}");
        }
    }
}

#[test]
fn a_deleted_oidc_provider_is_found_and_its_fix_works() {
    let sb = own_healthy_cluster();
    delete_oidc_provider(&sb);
    let doc = doctor_json(&sb, &[], 1);
    let c = failed(&doc, "HP401", None, &[&sb.oidc_issuer]);
    assert_eq!(c["fix"]["automatic"], true);
    let summary = c["fix"]["summary"].as_str().unwrap();
    assert!(
        summary.contains("eksctl utils associate-iam-oidc-provider --cluster"),
        "{summary}"
    );
    let argv = &c["fix"]["commands"][0]["argv"];
    assert_eq!(argv[1], "iam");
    assert_eq!(argv[2], "create-open-id-connect-provider");
    assert_eq!(not_passing(&doc).len(), 1, "{:?}", not_passing(&doc));
    run_fix(&sb, c);
    assert_all_pass(&sb);
}

#[test]
fn a_removed_operator_annotation_is_found_and_its_fix_works() {
    let sb = own_healthy_cluster();
    remove_operator_annotation(&sb);
    let doc = doctor_json(&sb, &[], 1);
    let c = failed(
        &doc,
        "HP403",
        Some("operator"),
        &["no eks.amazonaws.com/role-arn annotation"],
    );
    let shell = fix_shell(c);
    let want = format!(
        "annotate serviceaccount {OPERATOR_SA} -n {OPERATOR_NS} eks.amazonaws.com/role-arn={} --overwrite",
        role_arn(&sb, &format!("HyperpodInferenceRole-{}", sb.hyperpod_cluster))
    );
    assert!(shell[0].contains(&want), "{shell:?}");
    assert!(
        shell[1].contains(&format!(
            "rollout restart deployment/{OPERATOR_DEPLOYMENT} -n {OPERATOR_NS}"
        )),
        "{shell:?}"
    );
    run_fix(&sb, c);
    let sa = sb.kubectl_json(&["get", "serviceaccount", OPERATOR_SA, "-n", OPERATOR_NS]);
    assert_eq!(
        common::annotations(&sa)["eks.amazonaws.com/role-arn"],
        role_arn(
            &sb,
            &format!("HyperpodInferenceRole-{}", sb.hyperpod_cluster)
        )
    );
    assert_all_pass(&sb);
}

#[test]
fn a_trust_naming_the_guides_wrong_service_account_is_found_and_its_fix_works() {
    let sb = own_healthy_cluster();
    let role = format!("HyperpodInferenceRole-{}", sb.hyperpod_cluster);
    let wrong = format!("system:serviceaccount:{OPERATOR_NS}:{GUIDE_WRONG_SA}");
    set_trust(&sb, &role, &wrong, true);
    let doc = doctor_json(&sb, &[], 1);
    let runs_as = format!("runs as system:serviceaccount:{OPERATOR_NS}:{OPERATOR_SA}");
    let c = failed(&doc, "HP402", Some("operator"), &[&wrong, &runs_as]);
    assert_eq!(c["fix"]["automatic"], true);
    run_fix(&sb, c);
    let r = sb.aws_json(&["iam", "get-role", "--role-name", &role]);
    let doc_after = r["Role"]["AssumeRolePolicyDocument"].to_string();
    assert!(
        doc_after.contains(&format!("{OPERATOR_NS}:{OPERATOR_SA}\"")),
        "{doc_after}"
    );
    assert!(doc_after.contains("sagemaker.amazonaws.com"), "{doc_after}");
    assert_all_pass(&sb);
}

/// The operator's pod as the kubelet shows it when the init container found no S3 CSI driver.
fn break_operator_init(sb: &Sandbox, message: &str) {
    let pods = sb.operator_pods();
    let mut pod = pods["items"][0].clone();
    assert!(pod.is_object(), "no operator pod: {pods}");
    pod["status"] = json!({
        "phase": "Pending",
        "conditions": [{"type": "Initialized", "status": "False", "reason": "ContainersNotInitialized"}],
        "initContainerStatuses": [{
            "name": "check-csi-drivers", "ready": false, "restartCount": 4, "image": "x", "imageID": "",
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 1m20s restarting failed container"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "message": message}}
        }],
        "containerStatuses": [{"name": "manager", "ready": false, "restartCount": 0, "image": "x", "imageID": "",
            "state": {"waiting": {"reason": "PodInitializing"}}}]
    });
    let mut dep = sb.kubectl_json(&["get", "deployment", OPERATOR_DEPLOYMENT, "-n", OPERATOR_NS]);
    dep["status"] = json!({"observedGeneration": dep["metadata"]["generation"], "replicas": 1, "updatedReplicas": 1,
        "readyReplicas": 0, "availableReplicas": 0, "unavailableReplicas": 1,
        "conditions": [{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"}]});
    sb.kube_objects(json!([dep, pod]));
}

#[test]
fn a_missing_s3_csi_driver_is_found_by_its_check_and_in_the_operators_init_container() {
    let sb = own_healthy_cluster();
    ok(sb.kubectl(&["delete", "csidriver", "s3.csi.aws.com"]));
    let msg = "S3 CSI driver not installed (missing CSIDriver s3.csi.aws.com). kubectl said: Error from server (NotFound): csidrivers.storage.k8s.io \"s3.csi.aws.com\" not found";
    break_operator_init(&sb, msg);
    let doc = doctor_json(&sb, &[], 1);
    failed(&doc, "HP602", None, &[]);
    let op = failed(
        &doc,
        "HP503",
        None,
        &[
            "0/1 ready",
            "check-csi-drivers",
            "missing CSIDriver s3.csi.aws.com",
        ],
    );
    let shell = fix_shell(op);
    assert!(
        shell[0].contains("eks update-addon")
            && shell[0].contains("--addon-name aws-mountpoint-s3-csi-driver"),
        "{shell:?}"
    );
    assert!(
        shell
            .last()
            .unwrap()
            .contains("rollout restart deployment/"),
        "{shell:?}"
    );
    run_fix(&sb, op);
    assert_all_pass(&sb);
}

#[test]
fn a_crash_looping_operator_shows_its_last_logs_and_points_at_iam() {
    let sb = own_healthy_cluster();
    let pods = sb.operator_pods();
    let mut pod = pods["items"][0].clone();
    let name = pod["metadata"]["name"].as_str().unwrap().to_string();
    pod["status"]["phase"] = json!("Running");
    pod["status"]["conditions"] = json!([{"type": "Ready", "status": "False"}]);
    pod["status"]["containerStatuses"] = json!([{"name": "manager", "ready": false, "restartCount": 6, "image": "x", "imageID": "",
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]);
    let mut dep = sb.kubectl_json(&["get", "deployment", OPERATOR_DEPLOYMENT, "-n", OPERATOR_NS]);
    dep["status"]["readyReplicas"] = json!(0);
    dep["status"]["availableReplicas"] = json!(0);
    sb.kube_objects(json!([dep, pod]));
    sb.kube_logs(OPERATOR_NS, &name, Some("manager"), "starting manager\nerror: WebIdentityErr: failed to retrieve credentials\ncaused by: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity\n");
    let doc = doctor_json(&sb, &[], 1);
    let c = failed(&doc, "HP503", None, &["CrashLoopBackOff (6 restarts)"]);
    let details = c["details"].to_string();
    assert!(
        details.contains("Not authorized to perform sts:AssumeRoleWithWebIdentity"),
        "{details}"
    );
    assert!(
        c["fix"]["summary"]
            .as_str()
            .unwrap()
            .contains("cannot get AWS credentials"),
        "{c}"
    );
}

#[test]
fn missing_cert_manager_crds_are_found_and_their_fix_works() {
    let sb = own_healthy_cluster();
    ok(sb.kubectl(&[
        "delete",
        "crd",
        "certificates.cert-manager.io",
        "certificaterequests.cert-manager.io",
    ]));
    let doc = doctor_json(&sb, &[], 1);
    let c = failed(
        &doc,
        "HP601",
        None,
        &["certificaterequests.cert-manager.io"],
    );
    run_fix(&sb, c);
    assert_all_pass(&sb);
}

#[test]
fn nodes_without_gpus_are_found() {
    let sb = own_healthy_cluster();
    sb.kube_objects(gpu_nodes("0"));
    let doc = doctor_json(&sb, &[], 1);
    let c = failed(
        &doc,
        "HP702",
        None,
        &[
            "hyperpod-i-0aaa (ml.g5.12xlarge)",
            "advertise no nvidia.com/gpu",
        ],
    );
    let shell = fix_shell(c);
    assert!(
        shell[0]
            .contains("rollout restart daemonset/nvidia-device-plugin-daemonset -n kube-system"),
        "{c}"
    );
    run_fix(&sb, c);
}

fn jumpstart_model(name: &str, replicas: i64) -> Value {
    json!({"apiVersion": "inference.sagemaker.aws.amazon.com/v1", "kind": "JumpStartModel",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"model": {"modelId": "huggingface-llm-mistral-7b", "acceptEula": true},
                 "server": {"instanceType": "ml.g5.12xlarge"}, "replicas": replicas}})
}

fn model_pod(model: &str, name: &str, node: Option<&str>, gpus: &str, running: bool) -> Value {
    let status = if running {
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
               "containerStatuses": [{"name": "inference-server", "ready": true, "restartCount": 0, "image": "x", "imageID": "", "state": {"running": {}}}]})
    } else {
        json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
               "message": "0/2 nodes are available: 2 Insufficient nvidia.com/gpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod."}]})
    };
    let mut spec = json!({"containers": [{"name": "inference-server", "image": "x",
        "resources": {"requests": {"nvidia.com/gpu": gpus}, "limits": {"nvidia.com/gpu": gpus}}}]});
    if let Some(n) = node {
        spec["nodeName"] = json!(n);
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default", "labels": {"app": model}},
        "spec": spec, "status": status})
}

#[test]
fn a_model_pending_for_gpus_is_found_with_a_fix_that_fits_it() {
    let sb = own_healthy_cluster();
    let mut m = jumpstart_model("mistral", 2);
    m["metadata"]["creationTimestamp"] = json!("2020-01-01T00:00:00Z");
    m["status"] = json!({"state": "DeploymentInProgress", "deploymentStatus": {
        "deploymentObjectOverallState": "DeploymentInProgress", "reason": "DeploymentInProgress", "message": "Model deployment in progress"}});
    sb.kube_objects(json!([
        m,
        model_pod("mistral", "mistral-0", Some("hyperpod-i-0aaa"), "4", true),
        model_pod("mistral", "mistral-1", None, "4", false),
        model_pod("other", "other-0", Some("hyperpod-i-0bbb"), "4", true),
        {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "mistral-1.1", "namespace": "default"},
         "involvedObject": {"kind": "Pod", "name": "mistral-1", "namespace": "default"},
         "type": "Warning", "reason": "FailedScheduling", "count": 7,
         "message": "0/2 nodes are available: 2 Insufficient nvidia.com/gpu.", "lastTimestamp": "2026-01-01T00:00:00Z"}
    ]));
    let doc = doctor_json(&sb, &[], 1);
    let c = failed(
        &doc,
        "HP801",
        Some("JumpStartModel default/mistral"),
        &["Insufficient nvidia.com/gpu"],
    );
    let details = c["details"].to_string();
    assert!(
        details.contains("mistral-1 Pending") && details.contains("(FailedScheduling x7)"),
        "{details}"
    );
    let shell = fix_shell(c)[0];
    assert!(shell.contains("patch jumpstartmodels.inference.sagemaker.aws.amazon.com mistral -n default --type merge -p '{\"spec\":{\"replicas\":1}}'"), "{shell}");
    run_fix(&sb, c);
    let after = sb.kubectl_json(&["get", "jumpstartmodel", "mistral", "-n", "default"]);
    assert_eq!(after["spec"]["replicas"], 1);
}

#[test]
fn a_failed_model_deployment_is_found_with_its_reason_and_a_retry() {
    let sb = own_healthy_cluster();
    sb.kube_config(json!({"modelOperator": "fail", "modelDelaySeconds": 0.2,
        "modelFailReason": "ModelDeploymentFailed", "modelFailMessage": "insufficient capacity for ml.g5.12xlarge"}));
    let f = write(&sb, "model.json", &jumpstart_model("bert", 1).to_string());
    ok(sb.kubectl(&["apply", "-f", &f.display().to_string()]));
    wait_until(
        "the model to fail",
        std::time::Duration::from_secs(30),
        || {
            let m = sb.kubectl_json(&["get", "jumpstartmodel", "bert", "-n", "default"]);
            (m["status"]["deploymentStatus"]["deploymentObjectOverallState"] == "DeploymentFailed")
                .then_some(())
        },
    );
    let doc = doctor_json(&sb, &[], 1);
    let c = failed(&doc, "HP801", Some("JumpStartModel default/bert"), &[]);
    assert_eq!(
        c["finding"],
        "DeploymentFailed: ModelDeploymentFailed: insufficient capacity for ml.g5.12xlarge"
    );
    let shell = fix_shell(c);
    assert!(
        shell[0]
            .contains("delete jumpstartmodels.inference.sagemaker.aws.amazon.com bert -n default"),
        "{c}"
    );
    assert!(shell[1].contains("apply -f - <<'EOF'"), "{c}");
    sb.kube_config(json!({"modelOperator": "complete"}));
    run_fix(&sb, c);
    wait_until(
        "the retried model to deploy",
        std::time::Duration::from_secs(30),
        || {
            let m = sb.kubectl_json(&["get", "jumpstartmodel", "bert", "-n", "default"]);
            (m["status"]["deploymentStatus"]["deploymentObjectOverallState"]
                == "DeploymentComplete")
                .then_some(())
        },
    );
    // Focused on the model: only what it depends on, and the model.
    let focused = doctor_json(&sb, &["bert", "-n", "default"], 0);
    let ids: Vec<&str> = focused["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["HP102", "HP301", "HP502", "HP503", "HP701", "HP702", "HP801"]
    );
    assert_eq!(result(&focused, "HP801", None)["status"], "pass");
    let missing = doctor_json(&sb, &["nope"], 1);
    assert!(result(&missing, "HP801", None)["finding"]
        .as_str()
        .unwrap()
        .contains("no JumpStartModel or InferenceEndpointConfig named nope"));
}

/// A directory that holds only the given tools (symlinks), for a PATH without the others.
fn path_with(sb: &Sandbox, dir: &str, tools: &[(&str, PathBuf)]) -> String {
    let d = sb.dir().join(dir);
    fs::create_dir_all(&d).unwrap();
    for (name, target) in tools {
        std::os::unix::fs::symlink(target, d.join(name)).unwrap();
    }
    d.display().to_string()
}

#[test]
fn kubectl_missing_from_path_fails_its_check_and_skips_the_cluster_checks() {
    let sb = set_up_cluster();
    let shims = &cloud().shim_dir;
    let path = path_with(
        &sb,
        "nokubectl",
        &[
            ("aws", shims.join("aws")),
            ("helm", shims.join("helm")),
            ("bash", PathBuf::from("/bin/bash")),
        ],
    );
    let doc = doctor_run(&sb, &["-o", "json"], &[("PATH", &path)])
        .exits(1)
        .json();
    let c = failed(&doc, "HP102", None, &[]);
    assert!(
        c["finding"]
            .as_str()
            .unwrap()
            .starts_with("kubectl not found on PATH"),
        "{c}"
    );
    assert!(
        c["fix"]["summary"]
            .as_str()
            .unwrap()
            .contains("https://kubernetes.io/docs/tasks/tools/"),
        "{c}"
    );
    let hp301 = result(&doc, "HP301", None);
    assert_eq!(hp301["status"], "skipped");
    assert_eq!(hp301["finding"], "skipped: HP102 (kubectl) failed");
    assert_eq!(result(&doc, "HP801", None)["status"], "skipped");
    // The AWS side is still checked.
    assert_eq!(result(&doc, "HP401", None)["status"], "pass");
}

/// A doctor run (`-o json`, exit 1) with the script `fake` first on PATH as `aws`.
fn doctor_with_aws(sb: &Sandbox, dir: &str, fake: PathBuf) -> Value {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    let dir = path_with(sb, dir, &[("aws", fake)]);
    let path = format!(
        "{dir}:{}",
        sb.env().iter().find(|(k, _)| k == "PATH").unwrap().1
    );
    doctor_run(sb, &["-o", "json"], &[("PATH", &path)])
        .exits(1)
        .json()
}

#[test]
fn an_aws_cli_older_than_the_hyperpod_api_is_named_with_its_version() {
    let sb = set_up_cluster();
    // An old CLI: argparse refuses `sagemaker describe-cluster` (exit 252, as the CLI does);
    // everything else goes to the real one.
    let real = cloud().shim_dir.join("aws");
    let fake = write(
        &sb,
        "aws-old",
        &format!(
            "#!/bin/bash\n[ \"$1\" = --version ] && {{ echo 'aws-cli/1.18.69 Python/3.8.10 Linux/5.4 botocore/1.17.0'; exit 0; }}\nif [ \"$1 $2\" = 'sagemaker describe-cluster' ]; then\n  printf 'usage: aws [options] <command> <subcommand> [<subcommand> ...] [parameters]\\naws: error: argument operation: Invalid choice, valid choices are:\\n\\nadd-tags | create-endpoint\\n' >&2; exit 252\nfi\nexec {} \"$@\"\n",
            real.display()
        ),
    );
    let doc = doctor_with_aws(&sb, "oldaws", fake);
    // The credentials still work (the caller's identity is read when the describe fails).
    assert_eq!(result(&doc, "HP201", None)["status"], "pass");
    let c = failed(&doc, "HP202", None, &[]);
    assert_eq!(
        c["finding"],
        "the AWS CLI (aws-cli/1.18.69) does not know `aws sagemaker describe-cluster`: it is older than the HyperPod API"
    );
    assert!(
        c["fix"]["summary"]
            .as_str()
            .unwrap()
            .contains("install the AWS CLI"),
        "{c}"
    );
}

#[test]
fn rejected_aws_credentials_fail_their_check_and_skip_the_aws_checks() {
    let sb = set_up_cluster();
    // A static token: setup's kubeconfig would ask the rejecting aws for one, and the cluster
    // side is checked below.
    sb.write_direct_kubeconfig();
    let fake = write(
        &sb,
        "aws-rejecting",
        "#!/bin/bash\n[ \"$1\" = --version ] && { echo 'aws-cli/1.46.1 Python/3.12.3 Linux/6.8'; exit 0; }\nprintf '\\nAn error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: The security token included in the request is invalid.\\n' >&2\nexit 255\n",
    );
    let doc = doctor_with_aws(&sb, "badaws", fake);
    let c = failed(&doc, "HP201", None, &[]);
    assert_eq!(
        c["finding"],
        "AWS rejected the credentials (InvalidClientTokenId)"
    );
    let shell = fix_shell(c);
    assert_eq!(shell[0], "aws configure");
    for id in ["HP202", "HP203", "HP401", "HP302"] {
        let s = &results(&doc, id)[0];
        assert_eq!(s["status"], "skipped", "{s}");
    }
    assert_eq!(
        result(&doc, "HP402", Some("operator"))["finding"],
        "skipped: HP201 (AWS credentials) failed"
    );
    // The cluster side is still checked.
    assert_eq!(result(&doc, "HP503", None)["status"], "pass");
    // With working credentials, the fix's check command passes.
    sb.tool("bash", &["-c", shell[1]]).exits(0);
}

/// No fix of the OIDC provider or of an annotation ran (since the tool log was cleared).
#[track_caller]
fn assert_nothing_fixed(sb: &Sandbox) {
    let log = sb.tool_log_lines();
    assert!(
        !log.iter()
            .any(|l| l.contains("create-open-id-connect-provider") || l.contains(" annotate ")),
        "{log:?}"
    );
}

#[test]
fn fix_yes_repairs_the_fixable_problems_and_the_recheck_passes() {
    let sb = own_healthy_cluster();
    delete_oidc_provider(&sb);
    let keda_role = format!("keda-operator-role-{}", sb.hyperpod_cluster);
    set_trust(&sb, &keda_role, "system:serviceaccount:keda:keda", false);
    remove_operator_annotation(&sb);

    // Off a terminal and without --yes, --fix refuses and changes nothing.
    sb.clear_tool_log();
    doctor_run(&sb, &["--fix"], &[])
        .exits(5)
        .stdout_has(&["[✗] HP401"])
        .stderr_has(&["--yes"]);
    assert_nothing_fixed(&sb);

    // --dry-run shows what --fix would apply and changes nothing.
    doctor_run(&sb, &["--fix", "--dry-run"], &[])
        .exits(1)
        .stderr_has(&["would apply 3 fixes (HP401, HP402 (keda), HP403 (operator))"]);
    assert_nothing_fixed(&sb);

    let doc = doctor_json(&sb, &["--fix", "--yes"], 0);
    assert_eq!(not_passing(&doc), Vec::<String>::new());
    assert_eq!(doc["before"]["failed"], 3, "{doc}");
    let applied: Vec<(String, bool)> = doc["fixes_applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                format!(
                    "{} {}",
                    f["id"].as_str().unwrap(),
                    f["subject"].as_str().unwrap_or("")
                ),
                f["ok"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        applied,
        [
            ("HP401 ".to_string(), true),
            ("HP402 keda".into(), true),
            ("HP403 operator".into(), true)
        ]
    );
    // The state in AWS and the cluster.
    let providers = sb
        .aws_json(&["iam", "list-open-id-connect-providers"])
        .to_string();
    assert!(providers.contains(&provider_arn(&sb)));
    let r = sb.aws_json(&["iam", "get-role", "--role-name", &keda_role]);
    assert!(r["Role"]["AssumeRolePolicyDocument"]
        .to_string()
        .contains("system:serviceaccount:kube-system:keda-operator"));
    let sa = sb.kubectl_json(&["get", "serviceaccount", OPERATOR_SA, "-n", OPERATOR_NS]);
    assert!(common::annotations(&sa).contains_key("eks.amazonaws.com/role-arn"));
}

#[test]
fn without_a_hyperpod_cluster_the_aws_checks_say_why_they_are_skipped() {
    let sb = set_up_cluster();
    let doc = sb.hyperpod(&["doctor", "-o", "json"]).exits(0).json();
    assert_eq!(
        result(&doc, "HP202", None)["finding"],
        "no --hyperpod-cluster given"
    );
    assert_eq!(result(&doc, "HP202", None)["status"], "skipped");
    assert_eq!(
        result(&doc, "HP401", None)["finding"],
        "skipped: no --hyperpod-cluster given (HP202)"
    );
    assert_eq!(result(&doc, "HP201", None)["status"], "pass");
    // ServiceAccount annotations are still checked against the roles they name.
    assert_eq!(result(&doc, "HP403", Some("operator"))["status"], "pass");
    assert_eq!(result(&doc, "HP503", None)["status"], "pass");
}

#[test]
fn bad_input_is_rejected_before_any_command_runs() {
    let sb = set_up_cluster();
    for (args, field) in [
        (
            vec!["doctor", "--hyperpod-cluster", "a;rm -rf /"],
            "--hyperpod-cluster",
        ),
        (vec!["doctor", "--s3-bucket", "Not_A_Bucket"], "--s3-bucket"),
        (vec!["doctor", "Bad_Model"], "MODEL"),
        (
            vec![
                "doctor",
                "--hyperpod-cluster",
                "hp",
                "--operator-role-name",
                "bad role",
            ],
            "--operator-role-name",
        ),
    ] {
        sb.hyperpod(&args)
            .exits(2)
            .stderr_has(&[&format!("invalid {field}")]);
    }
    assert!(sb.tool_log().is_empty(), "{:?}", sb.tool_log_lines());
}

/// Not a test: the measurement behind bench/doctor.sh (`cargo test --test doctor -- --ignored
/// --nocapture bench_`). On a healthy cluster, alternates a full doctor run with a replay of the
/// external commands that run made, one after another (what running the checks in sequence
/// would cost), so both see the same machine load; prints medians.
#[test]
#[ignore]
fn bench_doctor_wall_time() {
    // Over 80 lines: one measurement run, scenarios and report in order (ignored, not a check).
    use std::time::{Duration, Instant};
    let env_num = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(d)
    };
    let runs = env_num("HP_BENCH_RUNS", 5);
    // One scenario per "AWS_MS/KUBE_MS" pair: the round trip the emulators add to every AWS API
    // request and to every Kubernetes API request.
    let scenarios: Vec<(u64, u64)> = std::env::var("HP_BENCH_LATENCY_MS")
        .unwrap_or_else(|_| "0/0,300/100".into())
        .split(',')
        .filter_map(|p| {
            let (a, k) = p.trim().split_once('/').unwrap_or((p.trim(), p.trim()));
            Some((a.parse().ok()?, k.parse().ok()?))
        })
        .collect();
    let sb = own_healthy_cluster();
    let children_cpu_ms = common::children_cpu_ms;
    let median = |mut v: Vec<u128>| {
        v.sort();
        v[v.len() / 2]
    };
    for (aws_ms, kube_ms) in scenarios {
        common::set_aws_latency(aws_ms as f64 / 1000.0);
        sb.kube_config(json!({ "responseDelaySeconds": kube_ms as f64 / 1000.0 }));
        doctor_json(&sb, &[], 0); // warm-up (kubectl's discovery cache, page cache)
        let (mut walls, mut cpus, mut sums, mut slowest, mut chains) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut per_call: Vec<(Duration, String)> = Vec::new();
        let mut calls = 0;
        for _ in 0..runs {
            sb.clear_tool_log();
            let c0 = children_cpu_ms();
            let t = Instant::now();
            doctor_json(&sb, &[], 0);
            walls.push(t.elapsed().as_millis());
            cpus.push((children_cpu_ms() - c0) as u128);
            let log = sb.tool_log();
            calls = log.len();
            // The same commands one after another: what checking in sequence costs at the least.
            per_call.clear();
            for c in &log {
                let args: Vec<&str> = c[1..].iter().map(String::as_str).collect();
                let t = Instant::now();
                let r = sb.tool(&c[0], &args);
                let mut line = c.join(" ");
                if line.len() > 110 {
                    line.truncate(110);
                    line.push_str("...");
                }
                per_call.push((t.elapsed(), format!("{line} [exit {}]", r.code)));
            }
            let ms = |d: &Duration| d.as_millis();
            sums.push(per_call.iter().map(|(d, _)| ms(d)).sum());
            slowest.push(per_call.iter().map(|(d, _)| ms(d)).max().unwrap_or(0));
            // The slowest check's chain of calls: HyperPod cluster -> its EKS cluster.
            chains.push(
                per_call
                    .iter()
                    .filter(|(_, l)| {
                        l.starts_with("aws sagemaker describe-cluster")
                            || l.starts_with("aws eks describe-cluster")
                    })
                    .map(|(d, _)| ms(d))
                    .sum(),
            );
        }
        println!(
            "BENCH scenario aws_latency_ms={aws_ms} kube_latency_ms={kube_ms} runs={runs} calls_per_run={calls}"
        );
        println!("BENCH   wall_min_ms {}", walls.iter().min().unwrap());
        println!("BENCH   wall_median_ms {}", median(walls));
        println!("BENCH   cpu_median_ms {}", median(cpus));
        println!("BENCH   sequential_sum_median_ms {}", median(sums));
        println!("BENCH   slowest_call_median_ms {}", median(slowest));
        println!("BENCH   slowest_check_chain_median_ms {}", median(chains));
        per_call.sort_by_key(|t| std::cmp::Reverse(t.0));
        for (d, l) in &per_call {
            println!("BENCH   call {:>6} ms  {l}", d.as_millis());
        }
    }
    common::set_aws_latency(0.0);
}

#[test]
fn a_degraded_operator_add_on_next_to_the_helm_install_is_half_migrated_with_its_repair() {
    // Over 80 lines: two states of one stopped migration on one cluster, the second made from the first.
    let sb = own_healthy_cluster();
    // The add-on created over the running Helm install (a migration that stopped half-way),
    // and EKS reports it DEGRADED.
    sb.addon_config(json!({"failures": {"amazon-sagemaker-hyperpod-inference": {"status": "DEGRADED", "issues": [
        {"code": "AccessDenied", "message": "executionRoleArn: role cannot be assumed",
         "resourceIds": ["arn:aws:iam::123456789012:role/x"]}]}}}));
    let cfg = json!({
        "executionRoleArn": role_arn(&sb, &format!("SageMakerHyperPodInference-{}", sb.hyperpod_cluster)),
        "tlsCertificateS3Bucket": sb.bucket,
    })
    .to_string();
    sb.start_addon(
        "amazon-sagemaker-hyperpod-inference",
        &[
            "--resolve-conflicts",
            "OVERWRITE",
            "--configuration-values",
            &cfg,
        ],
    )
    .success();
    sb.aws(&[
        "eks",
        "describe-addon",
        "--cluster-name",
        &sb.eks_cluster,
        "--addon-name",
        "amazon-sagemaker-hyperpod-inference",
    ])
    .success();
    let doc = doctor_json(&sb, &[], 1);
    let half = failed(
        &doc,
        "HP606",
        None,
        &["half-migrated", "two inference operators"],
    );
    let fix = fix_shell(half).join("\n");
    assert!(
        fix.contains(&format!(
            "kubectl hyperpod migrate --to addon --hyperpod-cluster {} --s3-bucket {}",
            sb.hyperpod_cluster, sb.bucket
        )),
        "{half}"
    );
    let health = failed(
        &doc,
        "HP607",
        None,
        &["is DEGRADED", "AccessDenied: executionRoleArn: role cannot be assumed (resources: arn:aws:iam::123456789012:role/x)"],
    );
    assert!(
        health["details"].to_string().contains("HP402 checks each"),
        "{health}"
    );
    assert!(
        fix_shell(health)
            .join("\n")
            .contains("kubectl hyperpod setup --method addon"),
        "{health}"
    );
    // The Helm install made no metrics-server or FSx add-on: the add-on's dependencies are short.
    failed(
        &doc,
        "HP608",
        None,
        &[
            "aws-fsx-csi-driver is not installed",
            "metrics-server is not installed",
        ],
    );

    // Neither operator while the CRDs are there (a migration stopped after removing the Helm
    // Deployments, its restore failed): the migration is the repair.
    let eks = sb.eks_cluster.clone();
    let addon = [
        "--cluster-name",
        eks.as_str(),
        "--addon-name",
        "amazon-sagemaker-hyperpod-inference",
    ];
    ok(sb.aws(&[&["eks", "delete-addon"][..], &addon, &["--preserve"]].concat()));
    ok(sb.aws(&[&["eks", "wait", "addon-deleted"][..], &addon].concat()));
    ok(sb.kubectl(&[
        "delete",
        "deployment",
        "hyperpod-inference-operator-controller-manager",
        "hyperpod-inference-controller-manager",
        "-n",
        "hyperpod-inference-system",
    ]));
    let doc = doctor_json(&sb, &[], 1);
    let neither = failed(
        &doc,
        "HP606",
        None,
        &["no inference operator runs", "the inference CRDs exist"],
    );
    assert!(
        fix_shell(neither)
            .join("\n")
            .contains("kubectl hyperpod migrate --to addon"),
        "{neither}"
    );
}
