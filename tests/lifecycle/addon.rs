//! The EKS add-on install method end to end (`setup --method addon`): on a new HyperPod cluster
//! (`fresh`) setup installs the operator as the add-on with roles scoped to its ServiceAccounts,
//! a second run changes nothing, a model deploys, doctor is clean and teardown restores the
//! cluster; on a console-made cluster (`addon`) setup manages the install it finds.

use crate::common;
use crate::common::{jstr, Profile, Sandbox, World};
use serde_json::Value;

const ADDON: &str = "amazon-sagemaker-hyperpod-inference";

fn describe_addon(sb: &Sandbox, name: &str) -> Value {
    sb.describe_addon(name)
        .unwrap_or_else(|| panic!("no add-on {name}"))
}

/// The `sub` subjects a role's trust policy admits.
fn trusted_subjects(sb: &Sandbox, role: &str) -> Vec<String> {
    let r = sb.aws_json(&["iam", "get-role", "--role-name", role]);
    let doc = &r["Role"]["AssumeRolePolicyDocument"];
    let mut out = Vec::new();
    for st in doc["Statement"].as_array().unwrap() {
        for op in ["StringEquals", "StringLike"] {
            if let Some(m) = st["Condition"][op].as_object() {
                for (k, v) in m {
                    if k.ends_with(":sub") {
                        out.push(v.as_str().unwrap().to_string());
                    }
                }
            }
        }
        if st["Principal"]["Service"] == "sagemaker.amazonaws.com" {
            out.push("sagemaker.amazonaws.com".into());
        }
    }
    out
}

/// No Helm release of the operator chart (its storage Secrets).
fn assert_no_helm_release(sb: &Sandbox) {
    assert_eq!(sb.helm_release_records(), Vec::<Value>::new());
}

#[test]
fn the_add_on_method_sets_up_a_new_cluster_serves_a_model_and_comes_back_as_it_was() {
    let started = std::time::Instant::now();
    let world = World::fresh()
        .models_complete(0.3)
        .setup_args(&["--method", "addon", "--yes"]);
    let sb = world.start();
    let before = sb.snapshot();

    world.finish(&sb);
    let addon = describe_addon(&sb, ADDON);
    assert_eq!(addon["status"], "ACTIVE", "{addon}");
    let cfg: Value = serde_json::from_str(jstr(&addon, "configurationValues")).unwrap();
    let hp = &sb.hyperpod_cluster;
    let role_of = |ptr: &str| {
        cfg.pointer(ptr)
            .and_then(Value::as_str)
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string()
    };
    let execution = role_of("/executionRoleArn");
    assert_eq!(execution, format!("SageMakerHyperPodInference-{hp}"));
    let sa = |n: &str| format!("system:serviceaccount:hyperpod-inference-system:{n}");
    assert_eq!(
        trusted_subjects(&sb, &execution),
        [
            sa("hyperpod-inference-controller-manager"),
            "sagemaker.amazonaws.com".into()
        ]
    );
    assert_eq!(
        trusted_subjects(&sb, &role_of("/alb/serviceAccount/roleArn")),
        [sa("aws-load-balancer-controller")]
    );
    assert_eq!(
        trusted_subjects(&sb, &role_of("/keda/auth/aws/irsa/roleArn")),
        [sa("keda-operator"), "sagemaker.amazonaws.com".into()]
    );
    for dep in [
        "aws-mountpoint-s3-csi-driver",
        "aws-fsx-csi-driver",
        "cert-manager",
        "metrics-server",
    ] {
        let d = describe_addon(&sb, dep);
        assert_eq!(d["status"], "ACTIVE", "{d}");
        assert_eq!(d["tags"]["managed-by"], "kubectl-hyperpod", "{d}");
    }
    assert_no_helm_release(&sb);

    // A second run, with no method: the add-on is found and nothing changes.
    sb.clear_tool_log();
    let again = sb.setup(&["--yes", "-o", "json"]).success().json();
    assert_eq!(again["plan"]["context"]["method"], "addon", "{again}");
    assert_eq!(sb.mutating_commands(), Vec::<String>::new());

    sb.deploy_bert("bert", &[]).success();
    let d = sb.doctor();
    assert_eq!(d.code, 0, "{}", d.describe());
    sb.hyperpod(&["delete", "bert", "--yes"]).success();

    sb.teardown_restores(&before, &[]);
    eprintln!("add-on e2e on fresh: {:?}", started.elapsed());
}

#[test]
fn on_a_console_made_cluster_setup_manages_the_add_on_install_it_finds() {
    let sb = World::addon().build();
    let console_role = format!("SageMakerHyperPodInference-{}", sb.hyperpod_cluster);
    let plan = sb
        .setup(&["--skip-test-deployment", "--dry-run", "-o", "json"])
        .success()
        .json();
    let ctx = &plan["plan"]["context"];
    assert_eq!(ctx["method"], "addon", "{ctx}");
    // The console's roles are managed, not a second set made.
    assert_eq!(ctx["names"]["alb_role"]["source"], "add-on", "{ctx}");
    assert_eq!(
        ctx["names"]["alb_role"]["name"],
        format!("{}-console-alb", sb.hyperpod_cluster)
    );

    sb.setup(&["--skip-test-deployment", "--yes"]).success();
    assert_no_helm_release(&sb);
    let addon = describe_addon(&sb, ADDON);
    assert_eq!(addon["status"], "ACTIVE", "{addon}");
    assert!(
        jstr(&addon, "configurationValues").contains(&console_role),
        "{addon}"
    );
    sb.clear_tool_log();
    sb.setup(&["--skip-test-deployment", "--yes"]).success();
    assert_eq!(sb.mutating_commands(), Vec::<String>::new());
    let d = sb.doctor();
    assert_eq!(d.code, 0, "{}", d.describe());
}

#[test]
fn bad_method_input_is_refused_before_any_call_naming_the_flag() {
    let sb = World::profile(Profile::Bare).build();
    sb.clear_tool_log();
    let r = sb.setup(&["--method", "operator-hub", "--yes"]);
    r.exits(2)
        .stderr_has(&["invalid value 'operator-hub' for '--method <METHOD>'"]);
    let r = sb.setup(&["--method", "addon", "--chart", "/tmp", "--yes"]);
    r.exits(2)
        .stderr_has(&["--chart", "is for --method helm only"]);
    let r = sb.setup(&["--method", "addon", "--skip-s3-csi", "--yes"]);
    r.exits(2)
        .stderr_has(&["--skip-s3-csi", "is for --method helm only"]);
    assert_eq!(sb.tool_log(), Vec::<Vec<String>>::new());
}

#[test]
fn a_degraded_add_on_stops_the_wait_at_once_with_its_health_issues_and_what_to_do() {
    let sb = World::fresh().build();
    sb.addon_config(
        serde_json::json!({"failures": {ADDON: {"status": "DEGRADED", "issues": [
        {"code": "AccessDenied", "message": "executionRoleArn: role cannot be assumed",
         "resourceIds": ["arn:aws:iam::123456789012:role/x"]}]}}}),
    );
    let r = sb.setup(&["--method", "addon", "--skip-test-deployment", "--yes"]);
    assert_eq!(r.code, 1, "{}", r.describe());
    r.stderr_has(&[
        "the amazon-sagemaker-hyperpod-inference add-on is DEGRADED; its health issues:",
        "AccessDenied: executionRoleArn: role cannot be assumed (resources: arn:aws:iam::123456789012:role/x)",
        "`kubectl hyperpod doctor` checks them",
    ]);
    // The plan of the next run shows the failed add-on and its issue, and updates it.
    let plan = sb
        .setup(&["--method", "addon", "--dry-run", "-o", "json"])
        .success()
        .json();
    let step = common::plan_step(&plan, "inference-operator");
    assert_eq!(step["state"], "drifted", "{step}");
    assert!(
        step["notes"]
            .to_string()
            .contains("health issue AccessDenied"),
        "{step}"
    );
}
