//! Smoke tests of the emulated cloud itself: the real aws CLI against the AWS emulator, the
//! real kubectl and helm against the Kubernetes emulator, the eksctl stand-in, the local chart,
//! and the shims. Each test has its own sandbox; they run in parallel.
//! Over 800 lines on purpose: every test binary starts its own emulated cloud (tests/common), so
//! one file per command keeps the suite to a few clouds; the tests are independent and run in parallel.

mod common;

use std::time::Duration;

use common::{cloud, wait_until, Sandbox};
use serde_json::{json, Value};

/// The argv of `aws eks VERB --cluster-name EKS --addon-name ADDON EXTRA...` (VERB may be two
/// words: `wait addon-active`).
fn addon_args<'a>(eks: &'a str, verb: &'a str, addon: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["eks"];
    a.extend(verb.split(' '));
    a.extend(["--cluster-name", eks, "--addon-name", addon]);
    a.extend_from_slice(extra);
    a
}

fn arn_role(sb: &Sandbox, name: &str) -> String {
    format!("arn:aws:iam::{}:role/{}", sb.account, name)
}

#[test]
fn aws_sts_and_iam() {
    // Over 80 lines: the emulator's IAM surface the product uses, call by call, on one sandbox.
    let sb = cloud().sandbox();
    let id = sb.aws_json(&["sts", "get-caller-identity"]);
    assert_eq!(id["Account"], sb.account);

    let role = format!("{}-role", sb.hyperpod_cluster);
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let created = sb.aws_json(&[
        "iam",
        "create-role",
        "--role-name",
        &role,
        "--assume-role-policy-document",
        &trust.to_string(),
    ]);
    assert_eq!(created["Role"]["Arn"], arn_role(&sb, &role));
    let dup = sb.aws(&[
        "iam",
        "create-role",
        "--role-name",
        &role,
        "--assume-role-policy-document",
        &trust.to_string(),
    ]);
    dup.exits(255);
    dup.stderr_has(&[&format!(
            "An error occurred (EntityAlreadyExists) when calling the CreateRole operation: Role with name {role} already exists."
        )]);
    let missing = sb.aws(&["iam", "get-role", "--role-name", "no-such-role-x"]);
    missing.stderr_has(&["(NoSuchEntity)"]);

    let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]});
    sb.aws(&[
        "iam",
        "put-role-policy",
        "--role-name",
        &role,
        "--policy-name",
        "Inline",
        "--policy-document",
        &doc.to_string(),
    ])
    .success();
    sb.aws(&[
        "iam",
        "attach-role-policy",
        "--role-name",
        &role,
        "--policy-arn",
        "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
    ])
    .success();
    let attached = sb.aws_json(&["iam", "list-attached-role-policies", "--role-name", &role]);
    assert_eq!(
        attached["AttachedPolicies"][0]["PolicyName"],
        "AmazonSageMakerFullAccess"
    );
    sb.aws(&[
        "iam",
        "tag-role",
        "--role-name",
        &role,
        "--tags",
        "Key=created-by,Value=kubectl-hyperpod",
    ])
    .success();
    let tags = sb.aws_json(&["iam", "list-role-tags", "--role-name", &role]);
    assert_eq!(tags["Tags"][0]["Key"], "created-by");

    let pol = sb.aws_json(&[
        "iam",
        "create-policy",
        "--policy-name",
        &format!("{}-policy", sb.hyperpod_cluster),
        "--policy-document",
        &doc.to_string(),
    ]);
    assert!(pol["Policy"]["Arn"]
        .as_str()
        .unwrap()
        .starts_with(&format!("arn:aws:iam::{}:policy/", sb.account)));

    // OIDC providers, with and without thumbprints
    let url1 = format!(
        "https://oidc.eks.{}.amazonaws.com/id/{}A",
        sb.region, sb.hyperpod_cluster
    );
    let url2 = format!(
        "https://oidc.eks.{}.amazonaws.com/id/{}B",
        sb.region, sb.hyperpod_cluster
    );
    let p1 = sb.aws_json(&[
        "iam",
        "create-open-id-connect-provider",
        "--url",
        &url1,
        "--client-id-list",
        "sts.amazonaws.com",
    ]);
    sb.aws(&[
        "iam",
        "create-open-id-connect-provider",
        "--url",
        &url2,
        "--client-id-list",
        "sts.amazonaws.com",
        "--thumbprint-list",
        "9e99a48a9960b14926bb7f3b02e22da2b0ab7280",
    ])
    .success();
    let again = sb.aws(&[
        "iam",
        "create-open-id-connect-provider",
        "--url",
        &url1,
        "--client-id-list",
        "sts.amazonaws.com",
    ]);
    again.stderr_has(&[&format!("(EntityAlreadyExists) when calling the CreateOpenIDConnectProvider operation: Provider with url {url1} already exists.")]);
    let arn1 = p1["OpenIDConnectProviderArn"].as_str().unwrap().to_string();
    let list = sb.aws_json(&["iam", "list-open-id-connect-providers"]);
    assert!(list.to_string().contains(&arn1));
    sb.aws(&[
        "iam",
        "delete-open-id-connect-provider",
        "--open-id-connect-provider-arn",
        &arn1,
    ])
    .success();
    let list = sb.aws_json(&["iam", "list-open-id-connect-providers"]);
    assert!(!list.to_string().contains(&arn1));
}

#[test]
fn aws_eks_sagemaker_s3_cloudwatch() {
    // Over 80 lines: the emulator's EKS, SageMaker, S3 and CloudWatch calls the product uses, on one sandbox.
    let sb = cloud().sandbox();
    let c = sb.aws_json(&["eks", "describe-cluster", "--name", &sb.eks_cluster]);
    let vpc = c["cluster"]["resourcesVpcConfig"]["vpcId"]
        .as_str()
        .unwrap();
    assert!(vpc.starts_with("vpc-"), "{c}");
    assert_eq!(vpc, sb.vpc_id);
    assert_eq!(c["cluster"]["endpoint"], sb.kube_server());
    assert_eq!(
        c["cluster"]["certificateAuthority"]["data"],
        cloud().kube_ca_data
    );
    let issuer = c["cluster"]["identity"]["oidc"]["issuer"].as_str().unwrap();
    assert!(issuer.starts_with(&format!("https://oidc.eks.{}.amazonaws.com/id/", sb.region)));
    // the VPC is a real (emulated) one
    let vpcs = sb.aws_json(&["ec2", "describe-vpcs", "--vpc-ids", vpc]);
    assert_eq!(vpcs["Vpcs"][0]["VpcId"], vpc);

    let missing = sb.aws(&["eks", "describe-cluster", "--name", "no-such-cluster"]);
    missing.stderr_has(&["An error occurred (ResourceNotFoundException) when calling the DescribeCluster operation: No cluster found for name: no-such-cluster."]);

    let hp = sb.aws(&[
        "sagemaker",
        "describe-cluster",
        "--cluster-name",
        &sb.hyperpod_cluster,
        "--query",
        "Orchestrator.Eks.ClusterArn",
        "--output",
        "text",
    ]);
    hp.success();
    assert_eq!(hp.stdout.trim(), sb.eks_cluster_arn);
    assert_eq!(
        hp.stdout.trim().split('/').nth(1).unwrap(),
        sb.eks_cluster,
        "the guide's `cut -d'/' -f2`"
    );
    let nodes = sb.aws_json(&[
        "sagemaker",
        "list-cluster-nodes",
        "--cluster-name",
        &sb.hyperpod_cluster,
    ]);
    assert!(!nodes["ClusterNodeSummaries"].as_array().unwrap().is_empty());
    // The instance groups describe-cluster returns are the ones the profile's nodes come from.
    let d = sb.aws_json(&[
        "sagemaker",
        "describe-cluster",
        "--cluster-name",
        &sb.hyperpod_cluster,
    ]);
    let mut groups: Vec<String> = d["InstanceGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["InstanceType"].as_str().unwrap().to_string())
        .collect();
    groups.sort();
    sb.write_direct_kubeconfig();
    let kn = sb.kubectl_json(&["get", "nodes"]);
    let mut node_types: Vec<String> = kn["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            n["metadata"]["labels"]["node.kubernetes.io/instance-type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    node_types.sort();
    node_types.dedup();
    assert_eq!(groups, node_types, "{d}");
    assert_eq!(groups, ["ml.c5.2xlarge", "ml.g5.8xlarge"]);

    // JumpStart's public hub: the document is a JSON string; unknown models are ResourceNotFound.
    let hub = |name: &str| {
        sb.aws(&[
            "sagemaker",
            "describe-hub-content",
            "--hub-name",
            "SageMakerPublicHub",
            "--hub-content-type",
            "Model",
            "--hub-content-name",
            name,
        ])
    };
    let types = |name: &str| -> Vec<Value> {
        let doc: Value =
            serde_json::from_str(hub(name).json()["HubContentDocument"].as_str().unwrap()).unwrap();
        doc["SupportedInferenceInstanceTypes"]
            .as_array()
            .unwrap()
            .clone()
    };
    let bert = types(common::BERT_MODEL_ID);
    assert!(bert.contains(&json!("ml.c5.2xlarge")) && bert.contains(&json!("ml.g5.8xlarge")));
    let llama = types("meta-textgeneration-llama-3-8b");
    assert!(!llama.contains(&json!("ml.c5.2xlarge")) && llama.contains(&json!("ml.g5.8xlarge")));
    hub("no-such-model").exits(255).stderr_has(&[
        "An error occurred (ResourceNotFound) when calling the DescribeHubContent operation",
    ]);

    sb.aws(&["s3api", "head-bucket", "--bucket", &sb.bucket])
        .success();
    let nob = sb.aws(&["s3api", "head-bucket", "--bucket", "hp-no-such-bucket-xyz"]);
    assert_eq!(nob.code, 255);
    let metrics = sb.aws_json(&["cloudwatch", "list-metrics", "--namespace", "AWS/SageMaker"]);
    assert!(metrics["Metrics"].is_array());

    // moto answers invoke-endpoint with a canned body for any endpoint name
    let out = sb.dir().join("invoke.out");
    let inv = sb.aws(&[
        "sagemaker-runtime",
        "invoke-endpoint",
        "--endpoint-name",
        "any-endpoint",
        "--content-type",
        "application/json",
        "--body",
        "{\"inputs\": \"hi\"}",
        out.to_str().unwrap(),
    ]);
    inv.success();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "body");
}

#[test]
fn aws_eks_addons() {
    // Over 80 lines: the emulated add-on lifecycle (create, wait, describe, update, delete) in order.
    let sb = cloud().sandbox();
    let eks = sb.eks_cluster.as_str();
    let created = sb.aws_json(&addon_args(
        eks,
        "create-addon",
        "aws-mountpoint-s3-csi-driver",
        &[
            "--service-account-role-arn",
            &arn_role(&sb, "s3-csi"),
            "--resolve-conflicts",
            "OVERWRITE",
            "--tags",
            "owner=test",
        ],
    ));
    assert_eq!(created["addon"]["status"], "CREATING");
    assert!(created["addon"]["addonArn"]
        .as_str()
        .unwrap()
        .starts_with(&format!(
            "arn:aws:eks:{}:{}:addon/{eks}/aws-mountpoint-s3-csi-driver/",
            sb.region, sb.account
        )));
    sb.aws(&addon_args(
        eks,
        "wait addon-active",
        "aws-mountpoint-s3-csi-driver",
        &[],
    ))
    .success();
    let d = sb.aws_json(&addon_args(
        eks,
        "describe-addon",
        "aws-mountpoint-s3-csi-driver",
        &[],
    ));
    assert_eq!(d["addon"]["status"], "ACTIVE");
    assert_eq!(d["addon"]["serviceAccountRoleArn"], arn_role(&sb, "s3-csi"));
    assert_eq!(d["addon"]["tags"]["owner"], "test");

    let dup = sb.aws(&addon_args(
        eks,
        "create-addon",
        "aws-mountpoint-s3-csi-driver",
        &[],
    ));
    dup.stderr_has(&["An error occurred (ResourceInUseException) when calling the CreateAddon operation: Addon already exists."]);
    let nf = sb.aws(&addon_args(eks, "describe-addon", "cert-manager", &[]));
    nf.stderr_has(&[&format!(
        "An error occurred (ResourceNotFoundException) when calling the DescribeAddon operation: No addon: cert-manager found in cluster: {eks}"
    )]);
    let bad = sb.aws(&addon_args(eks, "create-addon", "no-such-addon", &[]));
    bad.stderr_has(&["(InvalidParameterException)"]);
    let badv = sb.aws(&addon_args(
        eks,
        "create-addon",
        "metrics-server",
        &["--addon-version", "v0.0.1-eksbuild.1"],
    ));
    badv.stderr_has(&["Addon version specified is not supported"]);
    let nc = sb.aws(&["eks", "list-addons", "--cluster-name", "no-such-cluster"]);
    nc.stderr_has(&["No cluster found for name: no-such-cluster."]);

    let versions = sb.aws_json(&[
        "eks",
        "describe-addon-versions",
        "--addon-name",
        "amazon-sagemaker-hyperpod-inference",
    ]);
    let vs: Vec<&str> = versions["addons"][0]["addonVersions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["addonVersion"].as_str().unwrap())
        .collect();
    assert!(
        vs.contains(&"v1.5.0-eksbuild.1") && vs.contains(&"v1.0.0-eksbuild.1"),
        "{vs:?}"
    );
    for name in ["aws-fsx-csi-driver", "metrics-server", "cert-manager"] {
        let v = sb.aws_json(&["eks", "describe-addon-versions", "--addon-name", name]);
        assert_eq!(v["addons"][0]["addonName"], name);
    }

    // the add-on's objects appear in the emulated cluster once it is ACTIVE
    sb.write_direct_kubeconfig();
    let csi = sb.kubectl_json(&["get", "csidriver", "s3.csi.aws.com"]);
    assert_eq!(csi["metadata"]["name"], "s3.csi.aws.com");

    // slower add-on: CREATING on the first describes, then ACTIVE
    sb.addon_config(json!({"readyAfterDescribes": 2, "readyAfterSeconds": null}));
    sb.aws(&addon_args(eks, "create-addon", "metrics-server", &[]))
        .success();
    let status = |sb: &Sandbox| {
        sb.aws_json(&addon_args(eks, "describe-addon", "metrics-server", &[]))["addon"]["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(status(&sb), "CREATING");
    assert_eq!(status(&sb), "ACTIVE");

    // forced failure
    sb.addon_config(
        json!({"readyAfterDescribes": 1, "failures": {"cert-manager": {"status": "CREATE_FAILED",
        "issues": [{"code": "InsufficientNumberOfReplicas", "message": "injected"}]}}}),
    );
    sb.aws(&addon_args(eks, "create-addon", "cert-manager", &[]))
        .success();
    let w = sb.aws(&addon_args(eks, "wait addon-active", "cert-manager", &[]));
    assert_ne!(w.code, 0, "{}", w.describe());
    let d = sb.aws_json(&addon_args(eks, "describe-addon", "cert-manager", &[]));
    assert_eq!(d["addon"]["status"], "CREATE_FAILED");
    assert_eq!(d["addon"]["health"]["issues"][0]["message"], "injected");

    // update, delete
    let u = sb.aws_json(&addon_args(
        eks,
        "update-addon",
        "metrics-server",
        &["--addon-version", "v0.7.2-eksbuild.4"],
    ));
    assert_eq!(u["update"]["type"], "AddonUpdate");
    let d = sb.aws_json(&addon_args(eks, "delete-addon", "metrics-server", &[]));
    assert_eq!(d["addon"]["status"], "DELETING");
    sb.aws(&addon_args(
        eks,
        "wait addon-deleted",
        "metrics-server",
        &[],
    ))
    .success();
    let l = sb.aws_json(&["eks", "list-addons", "--cluster-name", eks]);
    assert_eq!(
        l["addons"],
        json!(["aws-mountpoint-s3-csi-driver", "cert-manager"])
    );
}

#[test]
fn kubeconfig_from_aws_reaches_the_emulated_cluster() {
    let sb = cloud().sandbox();
    assert!(!sb.kubeconfig_path().exists());
    sb.aws(&["eks", "update-kubeconfig", "--name", &sb.eks_cluster])
        .success();
    let kc = std::fs::read_to_string(sb.kubeconfig_path()).unwrap();
    assert!(kc.contains(&sb.kube_server()), "{kc}");
    assert!(kc.contains("get-token"), "{kc}");
    // through the shim, so that the exec'd `aws eks get-token` is recorded too
    let r = sb.tool("kubectl", &["get", "namespaces", "-o", "json"]);
    r.success();
    let names: Vec<String> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert!(
        names.contains(&"default".to_string()) && names.contains(&"kube-system".to_string()),
        "{names:?}"
    );
    let log = sb.tool_log_lines();
    assert!(
        log.iter().any(|l| l.starts_with("kubectl get namespaces")),
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l.starts_with("aws ")
            && l.contains("eks get-token --cluster-name")
            && l.contains(&sb.eks_cluster)),
        "{log:?}"
    );
    let cfg = sb.kube_hook("GET", "/_emulator/config", None);
    assert_eq!(cfg["lastAuthScheme"], "Bearer");
    assert_eq!(cfg["lastTokenKind"], "k8s-aws-v1");
    // sandboxes are isolated from each other
    let other = cloud().sandbox();
    other.write_direct_kubeconfig();
    other
        .kubectl(&["create", "namespace", "only-in-other"])
        .success();
    let r = sb.kubectl(&["get", "namespace", "only-in-other"]);
    r.stderr_has(&["Error from server (NotFound): namespaces \"only-in-other\" not found"]);
}

#[test]
fn kubectl_crds_models_and_wait() {
    // Over 80 lines: CRDs, a model and its wait in order on one cluster.
    let sb = cloud().sandbox();
    sb.write_direct_kubeconfig();
    sb.apply_reference_crds();
    let crds = sb.kubectl(&["get", "crds"]);
    crds.success();
    crds.stdout_has(&["jumpstartmodels.inference.sagemaker.aws.amazon.com"]);

    let model = sb.dir().join("model.yaml");
    std::fs::write(
        &model,
        r#"apiVersion: inference.sagemaker.aws.amazon.com/v1
kind: JumpStartModel
metadata:
  name: my-bert-model
  namespace: default
spec:
  model:
    modelId: "huggingface-eqa-bert-base-cased"
  sageMakerEndpoint:
    name: "my-bert-endpoint"
  server:
    instanceType: "ml.c5.2xlarge"
  maxDeployTimeInSeconds: 1800
"#,
    )
    .unwrap();
    sb.kubectl(&["apply", "-f", model.to_str().unwrap()])
        .success();
    sb.kubectl(&[
        "annotate",
        "jumpstartmodel",
        "my-bert-model",
        "example.com/owner=test",
    ])
    .success();
    sb.kubectl(&["label", "jumpstartmodel", "my-bert-model", "tier=smoke"])
        .success();
    let listed = sb.kubectl_json(&["get", "jumpstartmodels", "-l", "tier=smoke"]);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    let m = sb.kubectl_json(&["get", "jumpstartmodel", "my-bert-model"]);
    assert_eq!(m["metadata"]["annotations"]["example.com/owner"], "test");
    assert_eq!(m["spec"]["model"]["acceptEula"], false, "CRD defaulting");

    // status set through the hook satisfies a `kubectl wait --for=jsonpath` that is already waiting
    let env = sb.env();
    let kubectl = cloud().bin_dir.join("kubectl");
    let waiter = std::process::Command::new(&kubectl)
        .args([
            "wait",
            "jumpstartmodel/my-bert-model",
            "--for=jsonpath={.status.deploymentStatus.deploymentObjectOverallState}=DeploymentComplete",
            "--timeout=60s",
        ])
        .env_clear()
        .envs(env)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut obj = m.clone();
    obj["status"] = json!({"state": "DeploymentComplete",
        "deploymentStatus": {"deploymentObjectOverallState": "DeploymentComplete"},
        "endpoints": {"sagemaker": {"state": "CreationCompleted"}}});
    sb.kube_objects(obj);
    let out = waiter.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("condition met"));

    // the emulated operator completes a new model by itself
    sb.kube_config(json!({"modelOperator": "complete", "modelDelaySeconds": 0.2}));
    let m2 = std::fs::read_to_string(&model)
        .unwrap()
        .replace("my-bert-model", "second-model");
    std::fs::write(&model, m2).unwrap();
    sb.kubectl(&["apply", "-f", model.to_str().unwrap()])
        .success();
    sb.kubectl(&[
        "wait",
        "jumpstartmodel/second-model",
        "--for=jsonpath={.status.deploymentStatus.deploymentObjectOverallState}=DeploymentComplete",
        "--timeout=60s",
    ])
    .success();

    // pod logs through the hook
    sb.kube_objects(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p1", "namespace": "default", "labels": {"app": "x"}},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
        "status": {"phase": "Running"}}));
    sb.kube_logs("default", "p1", None, "hello from p1\n");
    let logs = sb.kubectl(&["logs", "p1", "-n", "default"]);
    logs.success();
    assert_eq!(logs.stdout, "hello from p1\n");
}

#[test]
fn helm_local_chart() {
    // Over 80 lines: the stand-in chart installed, checked and uninstalled in order.
    let sb = cloud().sandbox();
    let chart = Sandbox::chart_dir();
    let chart = chart.to_str().unwrap();
    sb.helm(&["lint", chart]).success();
    // Helm renders the subcharts' templates first (deeper paths first), so with no values at all
    // the alb subchart's requirement fails before the parent's.
    let t = sb.helm(&["template", "hpio", chart]);
    assert_ne!(t.code, 0);
    t.stderr_has(&["Chart cannot be installed without a valid clusterName!"]);
    let t = sb.helm(&["template", "hpio", chart, "--set", "alb.clusterName=c"]);
    assert_ne!(t.code, 0);
    t.stderr_has(&["A valid role for the Mountpoint for s3 CSI driver must be set via the --set s3.serviceAccountRoleArn=<arn> flag."]);
    let exec_role = arn_role(
        &sb,
        &format!("HyperpodInferenceRole-{}", sb.hyperpod_cluster),
    );
    let sets = [
        format!("region={}", sb.region),
        format!("eksClusterName={}", sb.eks_cluster),
        format!("hyperpodClusterArn={}", sb.hyperpod_cluster_arn),
        format!("executionRoleArn={exec_role}"),
        format!("s3.serviceAccountRoleArn={}", arn_role(&sb, "s3")),
        "s3.node.serviceAccount.create=false".to_string(),
        format!(
            "keda.podIdentity.aws.irsa.roleArn={}",
            arn_role(&sb, "keda")
        ),
        format!("tlsCertificateS3Bucket={}", sb.bucket),
        format!("alb.region={}", sb.region),
        format!("alb.clusterName={}", sb.eks_cluster),
        format!("alb.vpcId={}", sb.vpc_id),
    ];
    let mut args: Vec<String> = vec![
        "template".into(),
        "hpio".into(),
        chart.into(),
        "-n".into(),
        "kube-system".into(),
    ];
    for s in &sets {
        args.push("--set".into());
        args.push(s.clone());
    }
    let bad_region: Vec<String> = args
        .iter()
        .map(|a| {
            if a.starts_with("region=") {
                "region=mars-1".to_string()
            } else {
                a.clone()
            }
        })
        .collect();
    let r = sb.helm(&bad_region.iter().map(String::as_str).collect::<Vec<_>>());
    r.stderr_has(&["Unsupported AWS Region"]);
    // The ALB subchart's own requirement.
    let no_cluster: Vec<&str> = args
        .iter()
        .map(|a| {
            if a.starts_with("alb.clusterName=") {
                "alb.clusterName="
            } else {
                a.as_str()
            }
        })
        .collect();
    let r = sb.helm(&no_cluster);
    r.stderr_has(&["Chart cannot be installed without a valid clusterName!"]);
    let r = sb.helm(&args.iter().map(String::as_str).collect::<Vec<_>>());
    r.success();
    assert!(
        r.stdout.contains(&format!("s3://{}", sb.bucket)),
        "s3:// prepended"
    );
    // The cert-manager subchart, under the names the real one gives, its CRDs kept on uninstall.
    for name in [
        "hpio-cert-manager",
        "hpio-cert-manager-webhook",
        "hpio-cert-manager-cainjector",
    ] {
        assert!(
            r.stdout
                .contains(&format!("name: {name}\n  namespace: cert-manager")),
            "{name}"
        );
    }
    assert!(r.stdout.contains("helm.sh/resource-policy: keep"));

    // Installed as it can be on a cluster without cert-manager: cert-manager first (the EKS
    // add-on), the chart's own off (tests/world.rs shows why).
    sb.write_direct_kubeconfig();
    sb.create_addon("cert-manager", &[]);
    args.extend(["--set".into(), "cert-manager.enabled=false".into()]);
    args[0] = "upgrade".into();
    args.insert(1, "--install".into());
    args.push("--wait".into());
    args.push("--timeout".into());
    args.push("120s".into());
    sb.helm(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .success();
    // again: an upgrade
    sb.helm(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .success();

    let sa = sb.kubectl_json(&[
        "get",
        "sa",
        "hyperpod-inference-operator-controller-manager",
        "-n",
        "hyperpod-inference-system",
    ]);
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        exec_role
    );
    let dep = sb.kubectl_json(&[
        "get",
        "deployment",
        "-n",
        "hyperpod-inference-system",
        "-l",
        "control-plane=hyperpod-inference-operator-controller-manager",
    ]);
    assert_eq!(
        dep["items"][0]["metadata"]["name"],
        "hyperpod-inference-operator-controller-manager"
    );
    // KEDA goes to the release namespace (the keda subchart ignores `keda.namespace`).
    let keda = sb.kubectl_json(&["get", "sa", "keda-operator", "-n", "kube-system"]);
    assert_eq!(
        keda["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        arn_role(&sb, "keda")
    );
    // The other subcharts' workloads, under the names the real subcharts give them.
    for (ns, name) in [
        ("kube-system", "hpio-alb"),
        ("kube-system", "keda-operator"),
        ("kube-system", "hpio-metrics"),
        (
            "hyperpod-inference-system",
            "hyperpod-inference-operator-controller-manager",
        ),
    ] {
        let d = sb.kubectl_json(&["get", "deployment", name, "-n", ns]);
        assert_eq!(d["status"]["readyReplicas"], d["spec"]["replicas"], "{d}");
    }
    let alb = sb.kubectl_json(&["get", "deployment", "hpio-alb", "-n", "kube-system"]);
    assert_eq!(alb["metadata"]["labels"]["app.kubernetes.io/name"], "alb");
    assert_eq!(
        alb["spec"]["template"]["spec"]["serviceAccountName"],
        "aws-load-balancer-controller"
    );
    sb.kubectl(&["get", "csidriver", "s3.csi.aws.com", "fsx.csi.aws.com"])
        .success();
    sb.kubectl(&[
        "get",
        "crd",
        "inferenceendpointconfigs.inference.sagemaker.aws.amazon.com",
    ])
    .success();
    let list = sb.helm(&[
        "list",
        "-n",
        "kube-system",
        "--filter",
        "^hpio$",
        "-o",
        "json",
    ]);
    list.success();
    assert_eq!(list.json()[0]["name"], "hpio");
    assert_eq!(list.json()[0]["chart"], "hyperpod-inference-operator-2.2.2");
    sb.helm(&["uninstall", "hpio", "-n", "kube-system"])
        .success();
    let gone = sb.kubectl(&[
        "get",
        "deployment",
        "-n",
        "hyperpod-inference-system",
        "hyperpod-inference-operator-controller-manager",
    ]);
    gone.stderr_has(&["NotFound"]);
    // The inference CRDs are templates without a keep policy: they go with the release.
    let crd = sb.kubectl(&[
        "get",
        "crd",
        "jumpstartmodels.inference.sagemaker.aws.amazon.com",
    ]);
    crd.stderr_has(&["NotFound"]);
}

#[test]
fn eksctl_standin() {
    // Over 80 lines: each eksctl behaviour the product relies on, in order on one cluster.
    let sb = cloud().sandbox();
    let eks = sb.eks_cluster.as_str();
    let v = sb.eksctl(&["version"]);
    v.success();
    assert!(v.stdout.trim().starts_with("0."), "{}", v.describe());
    let bad = sb.eksctl(&["create", "iamserviceaccount", "--foo"]);
    assert_eq!(bad.code, 1);
    assert_eq!(bad.stderr.trim(), "Error: unknown flag: --foo");
    let bad = sb.eksctl(&["frobnicate"]);
    assert_eq!(bad.code, 1);
    assert!(bad
        .stderr
        .starts_with("Error: unknown command \"frobnicate\" for \"eksctl\""));

    // no OIDC provider yet
    let args_sa = |extra: &[&str]| {
        let mut a = vec![
            "create",
            "iamserviceaccount",
            "--name",
            "s3-csi-driver-sa",
            "--namespace",
            "kube-system",
            "--cluster",
            eks,
            "--region",
            "us-west-2",
            "--attach-policy-arn",
            "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
        ];
        a.extend_from_slice(extra);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let r = sb.eksctl(
        &args_sa(&["--approve"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(r.code, 1);
    r.stderr_has(&[
        "Error: unable to create iamserviceaccount(s) without IAM OIDC provider enabled",
    ]);

    let plan = sb.eksctl(&[
        "utils",
        "associate-iam-oidc-provider",
        "--cluster",
        eks,
        "--region",
        "us-west-2",
    ]);
    plan.success();
    plan.stdout_has(&["(plan) would create IAM Open ID Connect provider"]);
    let r = sb.eksctl(&[
        "utils",
        "associate-iam-oidc-provider",
        &format!("--cluster={eks}"),
        "--region=us-west-2",
        "--approve",
    ]);
    r.success();
    r.stdout_has(&["created IAM Open ID Connect provider"]);
    let r = sb.eksctl(&[
        "utils",
        "associate-iam-oidc-provider",
        "--cluster",
        eks,
        "--approve",
    ]);
    r.success();
    r.stdout_has(&["already associated"]);
    let oidc_host = sb.oidc_issuer.trim_start_matches("https://").to_string();
    let providers = sb.aws_json(&["iam", "list-open-id-connect-providers"]);
    assert!(providers.to_string().contains(&oidc_host));

    // create with an explicit role name
    let role_name = format!("SM_HP_S3_CSI_ROLE-{}", sb.hyperpod_cluster);
    let r = sb.eksctl(
        &args_sa(&["--approve", "--role-name", &role_name])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    r.success();
    let role = sb.aws_json(&["iam", "get-role", "--role-name", &role_name]);
    let trust = &role["Role"]["AssumeRolePolicyDocument"];
    let trust: Value = if let Some(s) = trust.as_str() {
        serde_json::from_str(s).unwrap()
    } else {
        trust.clone()
    };
    let cond = &trust["Statement"][0]["Condition"]["StringEquals"];
    assert_eq!(
        cond[format!("{oidc_host}:sub")],
        "system:serviceaccount:kube-system:s3-csi-driver-sa",
        "{trust}"
    );
    assert_eq!(cond[format!("{oidc_host}:aud")], "sts.amazonaws.com");
    let attached = sb.aws_json(&[
        "iam",
        "list-attached-role-policies",
        "--role-name",
        &role_name,
    ]);
    assert_eq!(
        attached["AttachedPolicies"][0]["PolicyArn"],
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    );
    sb.write_direct_kubeconfig();
    let sa = sb.kubectl_json(&["get", "sa", "s3-csi-driver-sa", "-n", "kube-system"]);
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        role["Role"]["Arn"]
    );

    // get
    let g = sb.eksctl(&["get", "iamserviceaccount", "--cluster", eks, "-o", "json"]);
    g.success();
    assert_eq!(g.json()[0]["status"]["roleARN"], role["Role"]["Arn"]);

    // an existing ServiceAccount is left alone without --override-existing-serviceaccounts
    sb.kubectl(&["create", "serviceaccount", "keda-operator", "-n", "default"])
        .success();
    let keda = |extra: &[&str]| {
        let mut a = vec![
            "create",
            "iamserviceaccount",
            "--name",
            "keda-operator",
            "--namespace",
            "default",
            "--cluster",
            eks,
            "--attach-policy-arn",
            "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess",
            "--approve",
        ];
        a.extend_from_slice(extra);
        sb.eksctl(&a)
    };
    let r = keda(&[]);
    r.success();
    r.stdout_has(&["was excluded"]);
    let sa = sb.kubectl_json(&["get", "sa", "keda-operator", "-n", "default"]);
    assert!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].is_null(),
        "{sa}"
    );
    let r = keda(&["--override-existing-serviceaccounts"]);
    r.success();
    let sa = sb.kubectl_json(&["get", "sa", "keda-operator", "-n", "default"]);
    let arn = sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        .as_str()
        .unwrap()
        .to_string();
    let default_name = arn.rsplit('/').next().unwrap();
    assert!(
        default_name.starts_with(&format!("eksctl-{eks}-addon-iamserviceaccount-")),
        "{default_name}"
    );
    assert!(default_name.len() <= 64);
    sb.aws(&["iam", "get-role", "--role-name", default_name])
        .success();

    // --role-only creates no ServiceAccount
    sb.eksctl(&[
        "create",
        "iamserviceaccount",
        "--name",
        "role-only-sa",
        "--namespace",
        "default",
        "--cluster",
        eks,
        "--attach-policy-arn",
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
        "--role-only",
        "--role-name",
        &format!("ro-{}", sb.hyperpod_cluster),
        "--approve",
    ])
    .success();
    sb.aws(&[
        "iam",
        "get-role",
        "--role-name",
        &format!("ro-{}", sb.hyperpod_cluster),
    ])
    .success();
    assert!(
        sb.kubectl(&["get", "sa", "role-only-sa", "-n", "default"])
            .code
            != 0
    );

    // delete
    sb.eksctl(&[
        "delete",
        "iamserviceaccount",
        "--cluster",
        eks,
        "--name",
        "s3-csi-driver-sa",
        "--namespace",
        "kube-system",
        "--wait",
    ])
    .success();
    assert!(sb
        .aws(&["iam", "get-role", "--role-name", &role_name])
        .stderr
        .contains("NoSuchEntity"));
    assert!(sb
        .kubectl(&["get", "sa", "s3-csi-driver-sa", "-n", "kube-system"])
        .stderr
        .contains("NotFound"));

    // create addon
    let r = sb.eksctl(&[
        "create",
        "addon",
        "--name",
        "aws-fsx-csi-driver",
        "--cluster",
        eks,
        "--force",
        "--wait",
    ]);
    r.success();
    let d = sb.aws_json(&addon_args(
        eks,
        "describe-addon",
        "aws-fsx-csi-driver",
        &[],
    ));
    assert_eq!(d["addon"]["status"], "ACTIVE");
    let again = sb.eksctl(&[
        "create",
        "addon",
        "--name",
        "aws-fsx-csi-driver",
        "--cluster",
        eks,
    ]);
    again.exits(1);
}

#[test]
fn shims_record_and_inject_failures() {
    let sb = cloud().sandbox();
    assert!(sb.tool_log().is_empty());
    sb.tool("aws", &["sts", "get-caller-identity"]).success();
    let tricky = "a\tb\nc\\d";
    let r = sb.tool("git", &["--version"]);
    r.success();
    sb.tool("helm", &["version", "--short", "--kube-context", tricky]);
    let log = sb.tool_log();
    assert_eq!(log[0], vec!["aws", "sts", "get-caller-identity"]);
    assert_eq!(log[1], vec!["git", "--version"]);
    assert_eq!(
        log[2],
        vec!["helm", "version", "--short", "--kube-context", tricky]
    );
    // the test's own calls (sb.aws/kubectl/helm/eksctl) are not recorded
    sb.aws(&["sts", "get-caller-identity"]).success();
    assert_eq!(sb.tool_log().len(), 3);
    sb.clear_tool_log();
    assert!(sb.tool_log().is_empty());

    let r = sb.tool_with(
        "aws",
        &["iam", "create-role", "--role-name", "x"],
        &[
            ("HP_FAIL_MATCH", "iam create-role"),
            ("HP_FAIL_CODE", "254"),
        ],
    );
    assert_eq!(r.code, 254);
    assert_eq!(
        r.stderr.trim(),
        "injected failure: aws iam create-role --role-name x"
    );
    let r = sb.tool_with(
        "kubectl",
        &["version", "--client"],
        &[("HP_FAIL_MATCH", "iam create-role")],
    );
    r.success();
    assert_eq!(sb.tool_log().len(), 2, "failed calls are recorded too");

    // the plugin runs with the sandbox environment
    let r = sb.hyperpod(&["--help"]);
    r.exits(0);
    let r = sb.hyperpod_with(&["--help"], &[("HP_FAIL_MATCH", "nothing")]);
    r.exits(0);
}

#[test]
fn sandboxes_are_unique_and_env_is_complete() {
    let a = cloud().sandbox();
    let b = cloud().sandbox();
    assert_ne!(a.hyperpod_cluster, b.hyperpod_cluster);
    assert_ne!(a.eks_cluster, b.eks_cluster);
    assert_ne!(a.bucket, b.bucket);
    assert_ne!(
        a.oidc_issuer, b.oidc_issuer,
        "one OIDC issuer per EKS cluster"
    );
    let env: std::collections::HashMap<String, String> = a.env().into_iter().collect();
    for k in [
        "PATH",
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "KUBECONFIG",
        "HOME",
        "HP_TOOL_LOG",
        "NO_COLOR",
        "HP_CHART_DIR",
    ] {
        assert!(env.contains_key(k), "{k} missing");
    }
    assert!(env["PATH"].starts_with(cloud().shim_dir.to_str().unwrap()));
    assert!(Sandbox::chart_dir().join("Chart.yaml").exists());
    let n = wait_until("a value", Duration::from_secs(1), || Some(42));
    assert_eq!(n, 42);
}

/// A role trusted by `hyperpod-inference-system:<sa>` through the sandbox's OIDC issuer (no
/// policies: the emulated add-on checks only that its pods can assume it).
fn addon_role(sb: &Sandbox, name: &str, sa: &str) -> String {
    let host = sb.oidc_issuer.trim_start_matches("https://");
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{}:oidc-provider/{host}", sb.account)},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            format!("{host}:sub"): format!("system:serviceaccount:hyperpod-inference-system:{sa}"),
            format!("{host}:aud"): "sts.amazonaws.com"}}}]})
    .to_string();
    sb.aws(&[
        "iam",
        "create-role",
        "--role-name",
        name,
        "--assume-role-policy-document",
        &trust,
    ])
    .success();
    arn_role(sb, name)
}

const INFERENCE_DEPENDENCIES: [&str; 4] = [
    "aws-mountpoint-s3-csi-driver",
    "aws-fsx-csi-driver",
    "metrics-server",
    "cert-manager",
];

#[test]
fn aws_hyperpod_inference_addon() {
    // Over 80 lines: the inference add-on's lifecycle in order on one cluster.
    let sb = cloud().sandbox();
    let eks = sb.eks_cluster.as_str();
    let addon = "amazon-sagemaker-hyperpod-inference";
    let role = addon_role(
        &sb,
        &format!("SageMakerHyperPodInference-{}", sb.hyperpod_cluster),
        "hyperpod-inference-controller-manager",
    );
    let alb = addon_role(&sb, "alb", "aws-load-balancer-controller");
    let keda = addon_role(&sb, "keda", "keda-operator");
    let cfg = json!({"executionRoleArn": role, "tlsCertificateS3Bucket": sb.bucket,
        "hyperpodClusterArn": sb.hyperpod_cluster_arn,
        "alb": {"enabled": true, "serviceAccount": {"create": true, "roleArn": alb}},
        "keda": {"enabled": true, "auth": {"aws": {"irsa": {"roleArn": keda}}}}})
    .to_string();
    let create = |extra: &[&str]| sb.aws(&addon_args(eks, "create-addon", addon, extra));
    let describe = || sb.aws_json(&addon_args(eks, "describe-addon", addon, &[]))["addon"].clone();
    let delete = |extra: &[&str]| {
        sb.aws(&addon_args(eks, "delete-addon", addon, extra))
            .success();
        sb.aws(&addon_args(eks, "wait addon-deleted", addon, &[]))
            .success();
    };
    // schema validation of configurationValues: EKS's own error text
    let r = create(&[
        "--configuration-values",
        "{\"executionRoleArn\": \"x\", \"tlsCertificateS3Bucket\": \"b\", \"bogus\": 1}",
    ]);
    r.stderr_has(&[
        "An error occurred (InvalidParameterException) when calling the CreateAddon operation: \
         ConfigurationValue provided in request is not supported: Json schema validation failed with error: \
         [$.bogus: is not defined in the schema and the schema does not allow additional properties]",
    ]);
    // dependencies missing: CREATE_FAILED
    create(&["--configuration-values", &cfg]).success();
    let d = describe();
    assert_eq!(d["status"], "CREATE_FAILED", "{d}");
    assert!(
        d["health"]["issues"][0]["message"]
            .as_str()
            .unwrap()
            .contains("cert-manager"),
        "{d}"
    );
    delete(&[]);

    // a dependency below the version the add-on needs: CREATE_FAILED, naming it
    for dep in INFERENCE_DEPENDENCIES {
        let old = ["--addon-version", "v0.7.2-eksbuild.3"];
        sb.create_addon(dep, if dep == "metrics-server" { &old } else { &[] });
    }
    create(&["--configuration-values", &cfg]).success();
    let d = describe();
    assert_eq!(d["status"], "CREATE_FAILED", "{d}");
    assert_eq!(
        d["health"]["issues"][0]["message"],
        "Add-on dependencies below the required version: metrics-server v0.7.2-eksbuild.3 (needs v0.7.2-eksbuild.4 or later)",
        "{d}"
    );
    delete(&[]);
    sb.aws(&addon_args(
        eks,
        "update-addon",
        "metrics-server",
        &["--addon-version", "v0.7.2-eksbuild.4"],
    ))
    .success();
    sb.aws(&addon_args(eks, "wait addon-active", "metrics-server", &[]))
        .success();

    create(&[
        "--configuration-values",
        &cfg,
        "--addon-version",
        "v1.5.0-eksbuild.1",
    ])
    .success();
    sb.aws(&addon_args(eks, "wait addon-active", addon, &[]))
        .success();

    sb.write_direct_kubeconfig();
    let dep = sb.kubectl_json(&[
        "get",
        "deployment",
        "-n",
        "hyperpod-inference-system",
        "hyperpod-inference-controller-manager",
    ]);
    assert_eq!(dep["status"]["readyReplicas"], 1, "{dep}");
    let sa = sb.kubectl_json(&[
        "get",
        "sa",
        "-n",
        "hyperpod-inference-system",
        "hyperpod-inference-controller-manager",
    ]);
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        role
    );
    sb.kubectl(&[
        "get",
        "crd",
        "jumpstartmodels.inference.sagemaker.aws.amazon.com",
        "certificates.cert-manager.io",
    ])
    .success();
    sb.kubectl(&["get", "csidriver", "s3.csi.aws.com", "fsx.csi.aws.com"])
        .success();

    // a role its pods cannot assume (missing; trusting another ServiceAccount): DEGRADED, with
    // one health issue per role naming it; the add-on's objects are there all the same
    let wrong = addon_role(&sb, "keda-wrong", "someone-else");
    let missing = arn_role(&sb, "no-such-alb-role");
    let degraded = cfg
        .replace(&format!("\"{keda}\""), &format!("\"{wrong}\""))
        .replace(&format!("\"{alb}\""), &format!("\"{missing}\""));
    sb.aws(&addon_args(
        eks,
        "update-addon",
        addon,
        &["--configuration-values", &degraded],
    ))
    .success();
    let d = describe();
    assert_eq!(d["status"], "DEGRADED", "{d}");
    let issues = d["health"]["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 2, "{d}");
    assert_eq!(issues[0]["code"], "AccessDenied");
    assert_eq!(issues[0]["resourceIds"], json!([missing]));
    assert!(
        issues[0]["message"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{d}"
    );
    assert_eq!(issues[1]["resourceIds"], json!([wrong]));
    assert!(
        issues[1]["message"].as_str().unwrap().contains(
            "cannot be assumed by system:serviceaccount:hyperpod-inference-system:keda-operator"
        ),
        "{d}"
    );
    // corrected: ACTIVE again
    sb.aws(&addon_args(
        eks,
        "update-addon",
        addon,
        &["--configuration-values", &cfg],
    ))
    .success();
    sb.aws(&addon_args(eks, "wait addon-active", addon, &[]))
        .success();

    // delete --preserve keeps the operator's objects; a plain delete removes them
    delete(&["--preserve"]);
    let op = ["get", "deployment", "-n", "hyperpod-inference-system"];
    let name = "hyperpod-inference-controller-manager";
    sb.kubectl(&[op.as_slice(), &[name]].concat()).success();
    create(&["--configuration-values", &cfg]).success();
    sb.aws(&addon_args(eks, "wait addon-active", addon, &[]))
        .success();
    delete(&[]);
    sb.kubectl(&[op.as_slice(), &[name]].concat())
        .failure()
        .stderr_has(&["NotFound"]);

    // a wrongly named execution role fails the add-on
    let other = cloud().sandbox();
    other.addon_config(json!({"dependencyCheck": true}));
    for dep in INFERENCE_DEPENDENCIES {
        other
            .aws(&addon_args(&other.eks_cluster, "create-addon", dep, &[]))
            .success();
    }
    let bad_cfg = json!({"executionRoleArn": arn_role(&other, "HyperpodInferenceRole-x"), "tlsCertificateS3Bucket": other.bucket}).to_string();
    other
        .aws(&addon_args(
            &other.eks_cluster,
            "create-addon",
            addon,
            &["--configuration-values", &bad_cfg],
        ))
        .success();
    let d = other.aws_json(&addon_args(
        &other.eks_cluster,
        "describe-addon",
        addon,
        &[],
    ));
    assert_eq!(d["addon"]["status"], "CREATE_FAILED", "{d}");
    assert!(
        d["addon"]["health"]["issues"]
            .to_string()
            .contains("SageMakerHyperPodInference"),
        "{d}"
    );
}

#[test]
fn latency_settings_are_checked_and_read_back() {
    // The benchmarks' stand-in for a distant region (bench/doctor.sh). Only 0 is set here: the
    // AWS emulator's latency is global and other tests run alongside.
    let url = &cloud().aws_url;
    let e =
        common::aws_hook(url, "PUT", "/_hp/latency", Some(&json!({"seconds": 31}))).unwrap_err();
    assert!(
        e.contains("HTTP 400") && e.contains("between 0 and 30"),
        "{e}"
    );
    let e = common::aws_hook(
        url,
        "PUT",
        "/_hp/latency",
        Some(&json!({"seconds": "slow"})),
    )
    .unwrap_err();
    assert!(e.contains("HTTP 400") && e.contains("seconds"), "{e}");
    let v = common::aws_hook(url, "PUT", "/_hp/latency", Some(&json!({"seconds": 0}))).unwrap();
    assert_eq!(v, json!({"seconds": 0.0}));
    assert_eq!(
        common::aws_hook(url, "GET", "/_hp/latency", None).unwrap(),
        json!({"seconds": 0.0})
    );

    let sb = cloud().sandbox();
    sb.write_direct_kubeconfig();
    sb.kube_config(json!({"responseDelaySeconds": 0.01}));
    assert_eq!(
        sb.kube_hook("GET", "/_emulator/config", None)["responseDelaySeconds"],
        json!(0.01)
    );
    // Requests are still answered, after the delay.
    sb.kubectl(&["get", "namespaces"]).success();
}

#[test]
fn benchmark_delays_and_call_timings() {
    // tests/bench.rs: a Deployment written through the API becomes available only
    // deploymentReadySeconds after the write; the shims time each call with HP_TOOL_TIMES.
    let sb = cloud().sandbox();
    sb.write_direct_kubeconfig();
    let deployment = |name: &str| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": name, "namespace": "default"},
               "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                        "template": {"metadata": {"labels": {"app": name}},
                                     "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}})
    };
    let available = |name: &str| {
        let d = sb.kubectl_json(&["get", "deployment", name, "-n", "default"]);
        d["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .any(|c| c["type"] == "Available" && c["status"] == "True")
    };
    let apply = |name: &str| {
        let f = sb.dir.path().join(format!("{name}.json"));
        std::fs::write(&f, deployment(name).to_string()).unwrap();
        sb.kubectl(&["apply", "-f", f.to_str().unwrap()]).success();
    };
    sb.kube_config(json!({"deploymentReadySeconds": 600}));
    apply("held");
    assert!(
        !available("held"),
        "available before deploymentReadySeconds"
    );
    sb.kube_config(json!({"deploymentReadySeconds": 0.5}));
    apply("soon");
    wait_until(
        "the held Deployment to become available",
        Duration::from_secs(60),
        || available("soon").then_some(()),
    );
    assert!(!available("held"));
    assert_eq!(
        sb.kube_hook("GET", "/_emulator/config", None)["lastModelCompleteAt"],
        Value::Null
    );

    let times = sb.dir.path().join("times");
    let t = times.display().to_string();
    sb.tool_with(
        "aws",
        &["sts", "get-caller-identity"],
        &[("HP_TOOL_TIMES", &t)],
    )
    .success();
    let r = sb.tool_with("kubectl", &["no-such-verb"], &[("HP_TOOL_TIMES", &t)]);
    assert_ne!(r.code, 0);
    let lines: Vec<Vec<String>> = std::fs::read_to_string(&times)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(String::from).collect())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    for (l, tool, code) in [
        (&lines[0], "aws", "0".to_string()),
        (&lines[1], "kubectl", r.code.to_string()),
    ] {
        let (start, end): (f64, f64) = (l[0].parse().unwrap(), l[1].parse().unwrap());
        assert!(end >= start, "{l:?}");
        assert_eq!((l[2].as_str(), l[3].as_str()), (code.as_str(), tool));
    }
    assert_eq!(lines[0][4..], ["sts", "get-caller-identity"]);
}
