//! The setup library API (the guide's Python class, in Rust) against the emulated cloud.
//! One test per binary: it points this process's environment at its sandbox.

mod common;

use kubectl_hyperpod::setup::{Setup, SetupConfig};
use kubectl_hyperpod::Ctx;

#[test]
fn library_operations_mirror_the_guide_class() {
    let sb = common::cloud().sandbox();
    for (k, v) in sb.env() {
        std::env::set_var(k, v);
    }
    let ctx = Ctx::new(Some(sb.region.clone()), None);
    let config = SetupConfig::new(&sb.hyperpod_cluster, &sb.region, &sb.bucket).unwrap();
    let setup = Setup::new(&ctx, config);

    let keda = setup.create_keda_role().unwrap();
    assert_eq!(
        keda,
        format!(
            "arn:aws:iam::{}:role/keda-operator-role-{}",
            sb.account, sb.hyperpod_cluster
        )
    );
    let keda_role = sb.aws_json(&[
        "iam",
        "get-role",
        "--role-name",
        &format!("keda-operator-role-{}", sb.hyperpod_cluster),
    ]);
    assert_eq!(keda_role["Role"]["Arn"], keda.as_str());
    // Only what was asked for: no operator role yet.
    let missing = sb.aws(&[
        "iam",
        "get-role",
        "--role-name",
        &format!("HyperpodInferenceRole-{}", sb.hyperpod_cluster),
    ]);
    assert!(
        missing.stderr.contains("NoSuchEntity"),
        "{}",
        missing.describe()
    );

    let roles = setup.configure_iam_only().unwrap();
    assert_eq!(roles.keda, keda);
    assert_eq!(
        roles.s3_csi.as_deref(),
        Some(
            format!(
                "arn:aws:iam::{}:role/SM_HP_S3_CSI_ROLE-{}",
                sb.account, sb.hyperpod_cluster
            )
            .as_str()
        )
    );
    sb.aws_json(&[
        "iam",
        "get-role",
        "--role-name",
        &format!("HyperpodInferenceRole-{}", sb.hyperpod_cluster),
    ]);

    setup.update_kubeconfig().unwrap();
    let ns = sb.kubectl_json(&[
        "--context",
        &sb.eks_cluster_arn,
        "get",
        "namespace",
        "default",
    ]);
    assert_eq!(ns["metadata"]["name"], "default");

    // Nothing installed yet: verification says no, it does not crash.
    assert!(!setup.verify_installation().unwrap());
}
