//! The test world itself is as strict as a real HyperPod cluster: the stand-in chart renders
//! what the real one renders (`chart-inventory.tsv`), its cert-manager trap is real, the
//! operator starts only when what its init container checks and the Secret it mounts are there,
//! and each cluster profile has what such a cluster has.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use common::{cloud, jstr, wait_until, Profile, Sandbox};
use serde_json::Value;

const OPERATOR_NS: &str = "hyperpod-inference-system";
const OPERATOR: &str = "hyperpod-inference-operator-controller-manager";

/// The chart objects the stand-in leaves out, with the reason (also in tests/env/README.md).
const LEFT_OUT: &[(&str, &str, &str)] = &[
    // Its CRD ships in the ALB subchart's crds/ directory, which Helm installs before the
    // templates and never removes: modelling it would leave CRDs behind that nothing uses here.
    ("IngressClassParams", "alb", "-"),
];

/// Objects the stand-in renders beyond the inventory, with the reason.
const EXTRA: &[(&str, &str, &str)] = &[
    // The inventory's s3 subchart rendered nothing, but the real aws-mountpoint-s3-csi-driver
    // chart installs the CSIDriver the operator's init container looks for.
    ("CSIDriver", "s3.csi.aws.com", "-"),
];

fn reference_inventory() -> BTreeSet<(String, String, String)> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/chart-inventory.tsv");
    let path = if path.exists() {
        path
    } else {
        PathBuf::from("/work/shared/reference/chart-inventory.tsv")
    };
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("subchart\t") && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let ns = if f[3] == "(release namespace)" {
                "kube-system"
            } else {
                f[3]
            };
            (f[1].to_string(), f[2].to_string(), ns.to_string())
        })
        .collect()
}

/// The guide's Step 10 values (release hyperpod-inference-operator in kube-system).
fn guide_values(sb: &Sandbox) -> Vec<String> {
    let acct = &sb.account;
    [
        format!("region={}", sb.region),
        format!("eksClusterName={}", sb.eks_cluster),
        format!("hyperpodClusterArn={}", sb.hyperpod_cluster_arn),
        format!("executionRoleArn=arn:aws:iam::{acct}:role/HyperpodInferenceRole"),
        format!("tlsCertificateS3Bucket=s3://{}", sb.bucket),
        format!("s3.serviceAccountRoleArn=arn:aws:iam::{acct}:role/S3CSIRole"),
        "s3.node.serviceAccount.create=false".into(),
        format!("keda.podIdentity.aws.irsa.roleArn=arn:aws:iam::{acct}:role/keda-operator-role"),
        format!("alb.region={}", sb.region),
        format!("alb.clusterName={}", sb.eks_cluster),
        format!("alb.vpcId={}", sb.vpc_id),
    ]
    .into_iter()
    .collect()
}

/// `helm <verb> hyperpod-inference-operator <stand-in chart> -n kube-system <extra> --set <guide's values>`.
fn helm_chart(sb: &Sandbox, verb: &str, extra: &[&str]) -> common::Run {
    let values = guide_values(sb);
    let chart = Sandbox::chart_dir().display().to_string();
    let mut args = vec![
        verb,
        "hyperpod-inference-operator",
        chart.as_str(),
        "--namespace",
        "kube-system",
    ];
    args.extend(extra);
    args.extend(values.iter().flat_map(|v| ["--set", v.as_str()]));
    sb.helm(&args)
}

#[test]
fn stand_in_renders_the_real_charts_objects() {
    let sb = cloud().sandbox_with(Profile::Bare);
    let r = helm_chart(&sb, "template", &[]);
    r.success();
    let mut rendered = BTreeSet::new();
    for doc in r.stdout.split("\n---") {
        let v: Value = serde_yaml::from_str(doc).unwrap_or(Value::Null);
        if v.is_null() {
            continue;
        }
        let ns = v["metadata"]["namespace"].as_str().unwrap_or("-");
        rendered.insert((
            jstr(&v, "kind").to_string(),
            jstr(&v, "metadata.name").to_string(),
            ns.to_string(),
        ));
    }
    let own = |t: &[(&str, &str, &str)]| -> BTreeSet<(String, String, String)> {
        t.iter()
            .map(|(k, n, ns)| (k.to_string(), n.to_string(), ns.to_string()))
            .collect()
    };
    let want: BTreeSet<_> = reference_inventory()
        .difference(&own(LEFT_OUT))
        .cloned()
        .chain(own(EXTRA))
        .collect();
    let missing: Vec<_> = want.difference(&rendered).collect();
    let unexpected: Vec<_> = rendered.difference(&want).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "stand-in vs chart-inventory.tsv\nmissing: {missing:?}\nnot in the inventory: {unexpected:?}"
    );
}

#[test]
fn plain_helm_install_with_the_charts_cert_manager_fails_on_a_fresh_cluster() {
    let sb = cloud().sandbox();
    sb.write_direct_kubeconfig();
    let r = helm_chart(&sb, "install", &[]);
    r.failure();
    assert!(
        r.stderr.contains("ensure CRDs are installed first")
            && r.stderr
                .contains(r#"no matches for kind "Certificate" in version "cert-manager.io/v1""#),
        "{}",
        r.describe()
    );
    // Helm builds every object before creating any: nothing was created.
    let releases = sb.helm(&["list", "-A", "-a", "-o", "json"]).json();
    let names: Vec<&str> = releases
        .as_array()
        .unwrap()
        .iter()
        .map(|r| jstr(r, "name"))
        .collect();
    assert_eq!(names, ["dependencies"], "{releases}");
    assert!(sb.kubectl(&["get", "namespace", OPERATOR_NS]).code != 0);
}

fn operator_available(sb: &Sandbox) -> bool {
    let d = sb.kubectl_json(&["get", "deployment", "-n", OPERATOR_NS, OPERATOR]);
    d["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Available" && c["status"] == "True")
}

fn operator_pod(sb: &Sandbox) -> Value {
    sb.operator_pods()["items"][0].clone()
}

#[test]
fn the_operator_starts_only_when_its_init_checks_hold_and_its_certificate_is_issued() {
    let sb = cloud().sandbox();
    sb.write_direct_kubeconfig();
    let args = [
        "--set",
        "cert-manager.enabled=false",
        "--set",
        "s3.enabled=false",
        "--set",
        "fsx.enabled=false",
    ];
    // Without cert-manager's CRDs the release cannot be built at all.
    let r = helm_chart(&sb, "install", &args);
    assert!(
        r.stderr.contains("ensure CRDs are installed first"),
        "{}",
        r.describe()
    );

    // cert-manager from the EKS add-on: now the release installs, but the operator waits for
    // the CSI drivers its init container checks.
    let addon = |name: &str| sb.create_addon(name, &[]);
    addon("cert-manager");
    helm_chart(&sb, "install", &args).success();
    assert!(!operator_available(&sb));
    let pod = operator_pod(&sb);
    let init = &pod["status"]["initContainerStatuses"][0];
    assert_eq!(init["name"], "check-csi-drivers", "{pod}");
    assert!(
        jstr(init, "lastState.terminated.message")
            .starts_with("S3 CSI driver not installed (missing CSIDriver s3.csi.aws.com)"),
        "{pod}"
    );
    // The certificate was issued by the running cert-manager.
    sb.kubectl_json(&["get", "secret", "-n", OPERATOR_NS, "webhook-server-cert"]);

    addon("aws-mountpoint-s3-csi-driver");
    let pod = operator_pod(&sb);
    assert!(
        pod["status"]["initContainerStatuses"][0]["lastState"]["terminated"]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("FSx CSI driver not installed"),
        "{pod}"
    );
    addon("aws-fsx-csi-driver");
    wait_until(
        "the operator becomes Available",
        Duration::from_secs(10),
        || operator_available(&sb).then_some(()),
    );
    assert_eq!(jstr(&operator_pod(&sb), "status.phase"), "Running");
}

#[test]
fn the_operator_waits_for_its_webhook_secret_when_cert_manager_does_not_run() {
    let sb = cloud().sandbox();
    sb.write_direct_kubeconfig();
    // cert-manager's CRDs without a running cert-manager (e.g. left behind by an uninstall).
    let crds: Vec<Value> = [
        ("certificates", "Certificate"),
        ("certificaterequests", "CertificateRequest"),
        ("issuers", "Issuer"),
    ]
    .iter()
    .map(|(p, kind)| {
            serde_json::json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": format!("{p}.cert-manager.io")},
                "spec": {"group": "cert-manager.io", "scope": "Namespaced",
                    "names": {"plural": p, "kind": kind, "singular": kind.to_lowercase()},
                    "versions": [{"name": "v1", "served": true, "storage": true,
                        "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}})
        })
        .collect();
    sb.kube_objects(Value::Array(crds));
    helm_chart(&sb, "install", &["--set", "cert-manager.enabled=false"]).success();
    assert!(!operator_available(&sb));
    let pod = operator_pod(&sb);
    assert_eq!(
        pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"], "ContainerCreating",
        "{pod}"
    );
    let events = sb.kubectl_json(&["get", "events", "-n", OPERATOR_NS]);
    assert!(
        events
            .to_string()
            .contains(r#"secret \"webhook-server-cert\" not found"#),
        "{events}"
    );
}

#[test]
fn fresh_cluster_has_hyperpods_nodes_and_dependencies_and_no_cert_manager() {
    let sb = cloud().sandbox();
    sb.write_direct_kubeconfig();
    let hp = sb.aws_json(&[
        "sagemaker",
        "describe-cluster",
        "--cluster-name",
        &sb.hyperpod_cluster,
    ]);
    let groups: BTreeSet<(String, i64)> = hp["InstanceGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                jstr(g, "InstanceType").to_string(),
                g["CurrentCount"]
                    .as_i64()
                    .or(g["TargetCount"].as_i64())
                    .unwrap_or(1),
            )
        })
        .collect();
    assert!(groups.iter().any(|(t, _)| t == "ml.c5.2xlarge"), "{hp}");
    assert!(groups.iter().any(|(t, _)| t.starts_with("ml.g5")), "{hp}");
    let nodes = sb.kubectl_json(&["get", "nodes"]);
    let nodes = nodes["items"].as_array().unwrap();
    assert_eq!(nodes.len(), 2);
    assert_eq!(nodes.len(), sb.nodes.len());
    for n in nodes {
        let labels = &n["metadata"]["labels"];
        let t = labels["node.kubernetes.io/instance-type"].as_str().unwrap();
        assert_eq!(
            labels["sagemaker.amazonaws.com/node-health-status"],
            "Schedulable"
        );
        let gpus = &n["status"]["allocatable"]["nvidia.com/gpu"];
        assert_eq!(gpus.is_string(), t.starts_with("ml.g5"), "{n}");
    }
    let releases = sb.helm(&["list", "-A", "-o", "json"]).json();
    assert_eq!(jstr(&releases[0], "name"), "dependencies", "{releases}");
    assert_eq!(jstr(&releases[0], "namespace"), "kube-system");
    assert_eq!(jstr(&releases[0], "status"), "deployed");
    let ds = sb.kubectl_json(&[
        "get",
        "daemonset",
        "-n",
        "kube-system",
        "dependencies-nvidia-device-plugin",
    ]);
    assert_eq!(
        ds["spec"]["template"]["spec"]["containers"][0]["image"],
        "nvcr.io/nvidia/k8s-device-plugin:v0.16.1"
    );
    assert!(sb
        .kubectl(&["get", "crd", "certificates.cert-manager.io"])
        .stderr
        .contains("NotFound"));
}

#[test]
fn metrics_server_and_addon_profiles_have_their_eks_add_ons() {
    let ms = cloud().sandbox_with(Profile::MetricsServer);
    ms.write_direct_kubeconfig();
    let addons = ms.aws_json(&["eks", "list-addons", "--cluster-name", &ms.eks_cluster]);
    assert_eq!(addons["addons"], serde_json::json!(["metrics-server"]));
    let api = ms.kubectl_json(&["get", "apiservice", "v1beta1.metrics.k8s.io"]);
    assert_eq!(
        api["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "EKS"
    );

    let ad = cloud().sandbox_with(Profile::Addon);
    ad.write_direct_kubeconfig();
    let addons = ad.aws_json(&["eks", "list-addons", "--cluster-name", &ad.eks_cluster]);
    let mut names: Vec<&str> = addons["addons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "amazon-sagemaker-hyperpod-inference",
            "aws-fsx-csi-driver",
            "aws-mountpoint-s3-csi-driver",
            "cert-manager",
            "metrics-server"
        ]
    );
    let inf = ad.aws_json(&[
        "eks",
        "describe-addon",
        "--cluster-name",
        &ad.eks_cluster,
        "--addon-name",
        "amazon-sagemaker-hyperpod-inference",
    ]);
    assert_eq!(jstr(&inf, "addon.status"), "ACTIVE", "{inf}");
    ad.kubectl_json(&[
        "get",
        "deployment",
        "-n",
        OPERATOR_NS,
        "hyperpod-inference-controller-manager",
    ]);
}
