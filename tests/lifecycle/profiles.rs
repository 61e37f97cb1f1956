//! Setup, deploy, doctor and teardown on each cluster profile (tests/env/profiles.py): a new
//! HyperPod cluster works in one run and comes back exactly as it was; where the Helm method
//! cannot work (`--method helm` on an operator already installed by the EKS add-on, an existing metrics-server,
//! `--skip-s3-csi` without an S3 CSI driver) setup stops before its first change and says why
//! and what to do.

use crate::common;
use crate::common::{Profile, Sandbox, World};
use serde_json::Value;

/// `setup ... --skip-test-deployment <extra>`.
fn setup(sb: &Sandbox, extra: &[&str]) -> common::Run {
    sb.setup(&[&["--skip-test-deployment"], extra].concat())
}

fn dependencies_release(sb: &Sandbox) -> Value {
    sb.with_direct_kubeconfig(|| {
        sb.kubectl_json(&[
            "get",
            "secret",
            "-n",
            "kube-system",
            "sh.helm.release.v1.dependencies.v1",
        ])
    })
}

#[test]
fn a_new_hyperpod_cluster_is_set_up_in_one_run_serves_a_model_and_comes_back_as_it_was() {
    let sb = World::fresh().models_complete(0.3).build();
    assert_eq!(sb.profile, Profile::Fresh);
    let before = sb.snapshot();
    let deps_before = dependencies_release(&sb);

    // The plan: no second device plugin, cert-manager first from the EKS add-on.
    let plan = setup(&sb, &["--dry-run", "-o", "json"]).success().json();
    let step = |id: &str| common::plan_step(&plan, id);
    let nvidia = step("nvidia-device-plugin");
    assert_eq!(nvidia["state"], "satisfied", "{nvidia}");
    assert!(
        nvidia["notes"].to_string().contains(
            "an NVIDIA device plugin already serves nvidia.com/gpu (DaemonSet kube-system/dependencies-nvidia-device-plugin"
        ),
        "{nvidia}"
    );
    assert_eq!(step("cert-manager-addon")["state"], "missing");
    setup(&sb, &["--yes"]).success();
    sb.assert_helm_operator_available();

    // A model on the CPU instance group the cluster has.
    sb.deploy_bert("bert", &[]).success();
    let d = sb.doctor();
    assert_eq!(d.code, 0, "{}", d.describe());
    sb.hyperpod(&["delete", "bert", "--yes"]).success();

    sb.teardown_restores(&before, &[]);
    // HyperPod's own release and its device plugin were never touched.
    let deps_after = dependencies_release(&sb);
    assert_eq!(
        deps_after["metadata"]["resourceVersion"],
        deps_before["metadata"]["resourceVersion"]
    );
    let log = sb.tool_log_lines().join("\n");
    assert!(
        !log.contains("dependencies-nvidia-device-plugin\t"),
        "{log}"
    );
}

/// Setup refuses, naming each reason, and changes nothing.
fn assert_refused(sb: &Sandbox, extra: &[&str], reasons: &[&str]) {
    let mut args = vec!["--yes"];
    args.extend(extra);
    sb.clear_tool_log();
    let r = setup(sb, &args);
    assert_ne!(r.code, 0, "{}", r.describe());
    assert!(
        r.stderr
            .contains("setup refuses to run; nothing was changed"),
        "{}",
        r.describe()
    );
    for why in reasons {
        assert!(r.stderr.contains(why), "{why}:\n{}", r.describe());
    }
    assert_eq!(sb.mutating_commands(), Vec::<String>::new());
    // The dry run shows the same as a blocked step of the plan.
    let mut args = vec!["--dry-run"];
    args.extend(extra);
    let plan = setup(sb, &args);
    plan.success();
    assert!(plan.stdout.contains("blocked"), "{}", plan.describe());
    assert_eq!(sb.mutating_commands(), Vec::<String>::new());
}

#[test]
fn an_operator_installed_by_the_eks_add_on_is_recognised_and_the_helm_method_installs_no_second_one(
) {
    let sb = World::addon().build();
    let before = sb.snapshot();
    assert_refused(
        &sb,
        &["--method", "helm"],
        &[
            "the inference operator is already installed by the EKS add-on (EKS add-on amazon-sagemaker-hyperpod-inference",
            "Manage that install with setup's `--method addon`",
            "moving it onto Helm is not automated yet",
            &format!(
                "aws eks describe-addon --cluster-name {} --addon-name amazon-sagemaker-hyperpod-inference",
                sb.eks_cluster
            ),
        ],
    );
    assert_eq!(sb.snapshot(), before);
}

#[test]
fn an_existing_metrics_server_stops_setup_before_its_first_change() {
    let sb = World::profile(Profile::MetricsServer).build();
    let before = sb.snapshot();
    assert_refused(
        &sb,
        &[],
        &[
            "apiservice v1beta1.metrics.k8s.io is already on the cluster (an EKS add-on)",
            "Helm cannot adopt it",
            &format!(
                "aws eks delete-addon --cluster-name {} --addon-name metrics-server",
                sb.eks_cluster
            ),
        ],
    );
    assert_eq!(sb.snapshot(), before);
}

#[test]
fn skip_s3_csi_without_an_s3_csi_driver_is_refused_and_works_with_one() {
    let sb = World::fresh().build();
    assert_refused(
        &sb,
        &["--skip-s3-csi"],
        &["--skip-s3-csi, but the cluster has no S3 CSI driver (CSIDriver s3.csi.aws.com)"],
    );
    // With the driver there (installed by someone else), the operator starts.
    sb.create_addon("aws-mountpoint-s3-csi-driver", &[]);
    setup(&sb, &["--skip-s3-csi", "--yes"]).success();
    sb.assert_helm_operator_available();
}
