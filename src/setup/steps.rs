//! The steps of setup (guide steps 1-12), each a check that says satisfied / missing / drifted
//! and the exact commands that would bring it in line.

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::iam::{self, RoleSpec};
use super::names::*;
use super::plan::{Action, Check, ModelWait, State, StepDef, StepEnv};
use super::{ChartSource, Facts, OperatorMethod, SetupConfig};
use crate::deploy::kind::ModelKind;
use crate::error::Result;
use crate::exec::Cmd;
use crate::marks;
use crate::render;
use crate::tools::kube::str_at;

/// Everything the steps need, borrowed for the life of a plan and its execution.
pub struct Inputs<'a> {
    pub config: &'a SetupConfig,
    pub names: &'a Names,
    pub facts: &'a Facts,
}

impl Inputs<'_> {
    fn role_arn(&self, role: &str) -> String {
        format!("arn:aws:iam::{}:role/{role}", self.facts.account)
    }
    fn policy_arn(&self, policy: &str) -> String {
        format!("arn:aws:iam::{}:policy/{policy}", self.facts.account)
    }
    fn iam_tags(&self) -> Vec<(String, String)> {
        vec![
            (
                marks::TAG_MANAGED_BY.0.to_string(),
                marks::TAG_MANAGED_BY.1.to_string(),
            ),
            (
                marks::TAG_CLUSTER.to_string(),
                self.config.hyperpod_cluster.clone(),
            ),
        ]
    }
    fn k8s_labels(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(marks::LABEL_MANAGED.0.into(), marks::LABEL_MANAGED.1.into());
        m
    }
    fn k8s_annotations(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            marks::ANNOTATION_CLUSTER.into(),
            self.config.hyperpod_cluster.clone().into(),
        );
        m
    }
    pub fn operator_role_arn(&self) -> String {
        self.role_arn(&self.names.operator_role.name)
    }
    pub fn alb_role_arn(&self) -> String {
        self.role_arn(&self.names.alb_role.name)
    }
    pub fn s3_role_arn(&self) -> String {
        self.role_arn(&self.names.s3_role.name)
    }
    pub fn keda_role_arn(&self) -> String {
        self.role_arn(&self.names.keda_role.name)
    }
    pub fn fsx_role_arn(&self) -> String {
        self.role_arn(&self.names.fsx_role.name)
    }
    pub fn gated_role_arn(&self) -> String {
        self.role_arn(&self.names.gated_role.name)
    }

    /// The chart values setup installs with (guide Step 10). `cert_manager_chart`: false when
    /// cert-manager is already on the cluster from elsewhere (its CRDs would collide).
    pub fn helm_values(&self, cert_manager_chart: bool) -> Result<Value> {
        let c = self.config;
        render::render_yaml(
            "helm/operator-values.yaml.j2",
            &json!({
                "region": c.region,
                "eks_cluster": self.facts.eks_cluster,
                "hyperpod_cluster_arn": self.facts.hyperpod_arn,
                "execution_role_arn": self.operator_role_arn(),
                "bucket": c.bucket,
                "gated_role_arn": if c.enable_jumpstart_gated { Value::from(self.gated_role_arn()) } else { Value::Null },
                "s3_role_arn": self.s3_role_arn(),
                "fsx_chart_enabled": !c.install_fsx_csi,
                "cert_manager_chart_enabled": cert_manager_chart,
                "keda_role_arn": self.keda_role_arn(),
                "vpc_id": self.facts.vpc_id,
            }),
        )
    }

    /// The guide's test model: a small BERT JumpStart model, without a SageMaker endpoint.
    pub fn test_model(&self) -> Result<Value> {
        render::render_yaml(
            "k8s/jumpstart-model.yaml.j2",
            &json!({
                "name": TEST_MODEL_NAME,
                "namespace": "default",
                "labels": self.k8s_labels(),
                "model_id": "huggingface-eqa-bert-base-cased",
                "model_version": null,
                "accept_eula": false,
                "endpoint_name": null,
                "instance_type": self.config.test_instance_type,
                "env": null,
                "replicas": null,
                "tls_output_s3_uri": null,
                "max_deploy_time": self.config.wait_timeout.as_secs(),
            }),
        )
    }
}

fn kget(env: &StepEnv, kind: &str, name: &str, ns: Option<&str>) -> Result<Option<Value>> {
    if env.offline {
        return Ok(None);
    }
    env.kube.get(&env.ctx.runner, kind, name, ns)
}

/// The step graph for a configuration. `iam_only` keeps the IAM steps.
pub fn all<'a>(inp: &'a Inputs<'a>) -> Vec<StepDef<'a>> {
    let c = inp.config;
    let mut steps = vec![StepDef::new(
        "resolve",
        "resolve the EKS cluster, account, OIDC issuer and VPC",
        &[],
        move |_| {
            let f = inp.facts;
            Ok(Check::new(State::Info, vec![])
                .note(format!(
                    "HyperPod cluster {} -> EKS cluster {}",
                    c.hyperpod_cluster, f.eks_cluster
                ))
                .note(format!(
                    "account {}, region {}, VPC {}",
                    f.account, c.region, f.vpc_id
                ))
                .note(format!("OIDC issuer {}", f.oidc.issuer)))
        },
    )];
    if !c.iam_only {
        steps.push(StepDef::new(
            "kubeconfig",
            "kubeconfig entry for the EKS cluster",
            &["resolve"],
            move |env| kubeconfig_check(env, inp),
        ));
    }
    steps.push(StepDef::new(
        "oidc-provider",
        "IAM OIDC identity provider for the cluster",
        &["resolve"],
        move |env| iam::oidc_check(env, &inp.facts.oidc, &inp.iam_tags()),
    ));
    steps.push(StepDef::new(
        "operator-role",
        format!("inference operator role {}", inp.names.operator_role.name),
        &["oidc-provider"],
        move |env| {
            let trust = iam::trust_policy(&inp.facts.oidc, &OPERATOR_SA.subject(), false, true)?;
            let inline = render::render_json(
                "iam/operator-permissions.json.j2",
                &json!({"bucket": c.bucket}),
            )?;
            iam::role_check(
                env,
                &RoleSpec {
                    name: inp.names.operator_role.name.clone(),
                    arn: inp.operator_role_arn(),
                    description: "SageMaker HyperPod inference operator (kubectl-hyperpod)".into(),
                    trust,
                    inline: Some((OPERATOR_INLINE_POLICY.into(), inline)),
                    managed: vec![SAGEMAKER_FULL_ACCESS.into()],
                    tags: inp.iam_tags(),
                },
            )
        },
    ));
    steps.push(StepDef::new(
        "alb-policy",
        format!(
            "load balancer controller policy {}",
            inp.names.alb_policy.name
        ),
        &["resolve"],
        move |env| {
            let doc = render::render_json("iam/alb-controller-v2.13.0.json", &json!({}))?;
            iam::policy_check(
                env,
                &inp.names.alb_policy.name,
                &inp.policy_arn(&inp.names.alb_policy.name),
                &doc,
                "AWS Load Balancer Controller v2.13.0 (kubectl-hyperpod)",
                &inp.iam_tags(),
            )
        },
    ));
    steps.push(StepDef::new(
        "alb-role",
        format!("load balancer controller role {}", inp.names.alb_role.name),
        &["oidc-provider", "alb-policy"],
        move |env| {
            iam::role_check(
                env,
                &RoleSpec {
                    name: inp.names.alb_role.name.clone(),
                    arn: inp.alb_role_arn(),
                    description: "AWS Load Balancer Controller (kubectl-hyperpod)".into(),
                    trust: iam::trust_policy(&inp.facts.oidc, &ALB_SA.subject(), false, false)?,
                    inline: None,
                    managed: vec![inp.policy_arn(&inp.names.alb_policy.name)],
                    tags: inp.iam_tags(),
                },
            )
        },
    ));
    if c.install_s3_csi {
        steps.push(StepDef::new(
            "s3-policy",
            format!("S3 mountpoint policy {}", inp.names.s3_policy.name),
            &["resolve"],
            move |env| {
                let doc =
                    render::render_json("iam/s3-mountpoint.json.j2", &json!({"bucket": c.bucket}))?;
                iam::policy_check(
                    env,
                    &inp.names.s3_policy.name,
                    &inp.policy_arn(&inp.names.s3_policy.name),
                    &doc,
                    "Mountpoint for Amazon S3 CSI driver (kubectl-hyperpod)",
                    &inp.iam_tags(),
                )
            },
        ));
        steps.push(StepDef::new(
            "s3-role",
            format!("S3 CSI driver role {}", inp.names.s3_role.name),
            &["oidc-provider", "s3-policy"],
            move |env| {
                iam::role_check(
                    env,
                    &RoleSpec {
                        name: inp.names.s3_role.name.clone(),
                        arn: inp.s3_role_arn(),
                        description: "Mountpoint for Amazon S3 CSI driver (kubectl-hyperpod)"
                            .into(),
                        trust: iam::trust_policy(
                            &inp.facts.oidc,
                            &S3_CSI_SA.subject(),
                            false,
                            false,
                        )?,
                        inline: None,
                        managed: vec![inp.policy_arn(&inp.names.s3_policy.name)],
                        tags: inp.iam_tags(),
                    },
                )
            },
        ));
    }
    steps.push(StepDef::new(
        "keda-role",
        format!("KEDA operator role {}", inp.names.keda_role.name),
        &["oidc-provider"],
        move |env| {
            let inline = render::render_json("iam/keda-permissions.json.j2", &json!({}))?;
            iam::role_check(
                env,
                &RoleSpec {
                    name: inp.names.keda_role.name.clone(),
                    arn: inp.keda_role_arn(),
                    description: "KEDA operator for HyperPod inference autoscaling (kubectl-hyperpod)".into(),
                    trust: iam::trust_policy(&inp.facts.oidc, &KEDA_SA.subject(), false, false)?,
                    inline: Some((KEDA_INLINE_POLICY.into(), inline)),
                    managed: vec![],
                    tags: inp.iam_tags(),
                },
            )
        },
    ));
    if c.install_fsx_csi {
        steps.push(StepDef::new(
            "fsx-role",
            format!("FSx CSI driver role {}", inp.names.fsx_role.name),
            &["oidc-provider"],
            move |env| {
                iam::role_check(
                    env,
                    &RoleSpec {
                        name: inp.names.fsx_role.name.clone(),
                        arn: inp.fsx_role_arn(),
                        description: "Amazon FSx for Lustre CSI driver (kubectl-hyperpod)".into(),
                        trust: iam::trust_policy(
                            &inp.facts.oidc,
                            &FSX_CSI_SA.subject(),
                            false,
                            false,
                        )?,
                        inline: None,
                        managed: vec![FSX_FULL_ACCESS.into()],
                        tags: inp.iam_tags(),
                    },
                )
            },
        ));
    }
    if c.enable_jumpstart_gated {
        steps.push(StepDef::new(
            "gated-model-role",
            format!(
                "JumpStart gated-model download role {}",
                inp.names.gated_role.name
            ),
            &["oidc-provider"],
            move |env| {
                iam::role_check(
                    env,
                    &RoleSpec {
                        name: inp.names.gated_role.name.clone(),
                        arn: inp.gated_role_arn(),
                        description: "JumpStart gated model downloads (kubectl-hyperpod)".into(),
                        trust: iam::trust_policy(
                            &inp.facts.oidc,
                            GATED_SUBJECT_PATTERN,
                            true,
                            true,
                        )?,
                        inline: None,
                        managed: vec![GATED_MODEL_ACCESS.into()],
                        tags: inp.iam_tags(),
                    },
                )
            },
        ));
    }
    if c.iam_only {
        return steps;
    }

    steps.push(StepDef::new(
        "alb-service-account",
        format!("ServiceAccount {}/{}", ALB_SA.namespace, ALB_SA.name),
        &["kubeconfig", "alb-role"],
        move |env| service_account_check(env, inp, ALB_SA, &inp.alb_role_arn(), &Map::new()),
    ));
    steps.push(StepDef::new(
        "namespaces",
        "namespaces cert-manager, hyperpod-inference-system",
        &["kubeconfig"],
        move |env| namespaces_check(env, inp),
    ));
    if c.install_s3_csi {
        steps.push(StepDef::new(
            "s3-service-account",
            format!("ServiceAccount {}/{}", S3_CSI_SA.namespace, S3_CSI_SA.name),
            &["kubeconfig", "s3-role"],
            move |env| {
                // The guide's labels: they let the EKS add-on adopt this ServiceAccount.
                let mut labels = Map::new();
                for (k, v) in [
                    ("app.kubernetes.io/component", "csi-driver"),
                    ("app.kubernetes.io/instance", "aws-mountpoint-s3-csi-driver"),
                    ("app.kubernetes.io/managed-by", "EKS"),
                    ("app.kubernetes.io/name", "aws-mountpoint-s3-csi-driver"),
                ] {
                    labels.insert(k.into(), v.into());
                }
                service_account_check(env, inp, S3_CSI_SA, &inp.s3_role_arn(), &labels)
            },
        ));
        steps.push(StepDef::new(
            "s3-csi-addon",
            format!("EKS add-on {S3_CSI_ADDON}"),
            &["s3-role", "s3-service-account"],
            move |env| addon_check(env, inp, S3_CSI_ADDON, &inp.s3_role_arn()),
        ));
    }
    if c.install_fsx_csi {
        steps.push(StepDef::new(
            "fsx-csi-addon",
            format!("EKS add-on {FSX_CSI_ADDON}"),
            &["fsx-role"],
            move |env| addon_check(env, inp, FSX_CSI_ADDON, &inp.fsx_role_arn()),
        ));
    }
    if c.install_nvidia_plugin {
        steps.push(StepDef::new(
            "nvidia-device-plugin",
            format!("NVIDIA device plugin {NVIDIA_PLUGIN_VERSION}"),
            &["kubeconfig"],
            move |env| nvidia_check(env, inp),
        ));
    }
    let mut operator_deps = vec![
        "operator-role",
        "alb-service-account",
        "namespaces",
        "keda-role",
    ];
    if c.install_s3_csi {
        operator_deps.push("s3-csi-addon");
    }
    if c.install_fsx_csi {
        operator_deps.push("fsx-csi-addon");
    }
    if c.enable_jumpstart_gated {
        operator_deps.push("gated-model-role");
    }
    // The install method decides only this step's title and check; everything around it
    // (roles, ServiceAccount annotation, verification) is the same for every method. The EKS
    // add-on method (`amazon-sagemaker-hyperpod-inference`) would add a variant whose check is
    // `addon_check` with the add-on's configuration document.
    let title = match c.operator_method {
        OperatorMethod::Helm => format!("helm release {HELM_RELEASE} in {HELM_NAMESPACE}"),
    };
    steps.push(StepDef::new(
        "inference-operator",
        title,
        &operator_deps,
        move |env| match inp.config.operator_method {
            OperatorMethod::Helm => operator_check(env, inp),
        },
    ));
    steps.push(StepDef::new(
        "operator-service-account",
        format!(
            "ServiceAccount {}/{} annotated with the operator role",
            OPERATOR_SA.namespace, OPERATOR_SA.name
        ),
        &["inference-operator"],
        move |env| operator_sa_check(env, inp),
    ));
    steps.push(StepDef::new(
        "verify",
        "verify ServiceAccounts, trust policies, operator Deployment and CRDs",
        &["operator-service-account"],
        move |env| super::verify::verify_check(env, inp),
    ));
    if !c.skip_test_deployment {
        let mut t = StepDef::new(
            "test-deployment",
            format!("test deployment {TEST_MODEL_NAME} (created, waited for, removed)"),
            &["verify"],
            move |env| test_deployment_check(env, inp),
        );
        t.only_if_changed = true;
        steps.push(t);
    }
    steps
}

/// The kubeconfig entry: a context named after the cluster ARN whose server is the cluster's endpoint.
fn kubeconfig_check(env: &StepEnv, inp: &Inputs) -> Result<Check> {
    let f = inp.facts;
    if inp.config.user_context.is_some() {
        return Ok(Check::satisfied().note("using the context given with --context"));
    }
    let update = inp
        .config
        .update_kubeconfig_cmd(env.ctx, f, inp.config.kubeconfig.as_deref());
    let missing = Check::new(
        State::Missing,
        vec![Action::new(
            format!("write context {} to the kubeconfig", f.context_name()),
            update.clone(),
        )],
    );
    if env.offline {
        return Ok(missing);
    }
    let view = crate::tools::kube::KubeOpts {
        kubeconfig: inp.config.kubeconfig.clone(),
        context: None,
    }
    .kubectl("read the kubeconfig", &["config", "view", "-o", "json"]);
    let out = env.ctx.runner.run_unchecked(&view)?;
    if !out.success() {
        return Ok(missing.note("no readable kubeconfig yet"));
    }
    let v: Value = crate::exec::parse_json(&view, &out.stdout)?;
    let ctx_name = f.context_name();
    let cluster_name = v["contexts"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == ctx_name.as_str()))
        .and_then(|c| c["context"]["cluster"].as_str().map(str::to_string));
    let Some(cluster_name) = cluster_name else {
        return Ok(missing);
    };
    let server = v["clusters"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == cluster_name.as_str()))
        .and_then(|c| c["cluster"]["server"].as_str().map(str::to_string));
    match (&server, &f.endpoint) {
        (Some(s), Some(e)) if s == e => Ok(Check::satisfied()),
        _ => Ok(Check::new(
            State::Drifted,
            vec![Action::new(format!("rewrite context {ctx_name}"), update)],
        )
        .note(format!(
            "context {ctx_name} points at {} instead of {}",
            server.as_deref().unwrap_or("nothing"),
            f.endpoint.as_deref().unwrap_or("the cluster endpoint")
        ))),
    }
}

/// A ServiceAccount annotated with its role (and labelled): created if missing, corrected if not.
fn service_account_check(
    env: &StepEnv,
    inp: &Inputs,
    sa: ServiceAccountRef,
    role_arn: &str,
    extra_labels: &Map<String, Value>,
) -> Result<Check> {
    let Some(found) = kget(env, "serviceaccount", sa.name, Some(sa.namespace))? else {
        let mut labels = inp.k8s_labels();
        labels.extend(extra_labels.clone());
        let mut ann = inp.k8s_annotations();
        ann.insert("eks.amazonaws.com/role-arn".into(), role_arn.into());
        let manifest = render::render_yaml(
            "k8s/service-account.yaml.j2",
            &json!({"name": sa.name, "namespace": sa.namespace, "labels": labels, "annotations": ann}),
        )?;
        return Ok(Check::new(
            State::Missing,
            vec![Action::new(
                format!("create ServiceAccount {}/{}", sa.namespace, sa.name),
                env.kube.apply_as(
                    &format!("kubectl-hyperpod-{}", sa.name),
                    format!("create ServiceAccount {}/{}", sa.namespace, sa.name),
                    &format!("ServiceAccount {}", sa.name),
                    &manifest,
                ),
            )
            .doc(
                &format!("ServiceAccount {}/{}", sa.namespace, sa.name),
                &manifest,
            )],
        ));
    };
    let mut parts = vec![Check::satisfied()];
    let current = str_at(&found, "/metadata/annotations/eks.amazonaws.com~1role-arn");
    if current != Some(role_arn) {
        parts.push(annotate_sa(env, sa, role_arn).note(format!(
            "ServiceAccount {}/{} is annotated with {} instead of {role_arn}",
            sa.namespace,
            sa.name,
            current.unwrap_or("no role")
        )));
    }
    // Extra labels (the S3 add-on's) are set on creation only: once the EKS add-on has adopted
    // the ServiceAccount it owns its labels, and insisting on ours would fight it on every run.
    let _ = extra_labels;
    Ok(Check::merge(parts))
}

fn annotate_sa(env: &StepEnv, sa: ServiceAccountRef, role_arn: &str) -> Check {
    let ann = format!("eks.amazonaws.com/role-arn={role_arn}");
    Check::new(
        State::Drifted,
        vec![Action::new(
            format!("annotate ServiceAccount {} with its role", sa.name),
            env.kube
                .kubectl(
                    format!("annotate ServiceAccount {}/{}", sa.namespace, sa.name),
                    &[
                        "annotate",
                        "serviceaccount",
                        sa.name,
                        "-n",
                        sa.namespace,
                        &ann,
                        "--overwrite",
                    ],
                )
                .mutating(),
        )],
    )
}

fn namespaces_check(env: &StepEnv, inp: &Inputs) -> Result<Check> {
    let mut parts = vec![Check::satisfied()];
    // Not the guide's `keda`: the chart's KEDA runs in the release namespace (names::KEDA_SA).
    for ns in ["cert-manager", OPERATOR_NAMESPACE] {
        if kget(env, "namespace", ns, None)?.is_some() {
            continue;
        }
        let mut labels = inp.k8s_labels();
        let mut ann = inp.k8s_annotations();
        if ns == OPERATOR_NAMESPACE {
            // The chart templates this namespace; Helm adopts an existing one only with its
            // ownership metadata (otherwise: "invalid ownership metadata").
            labels.insert("app.kubernetes.io/managed-by".into(), "Helm".into());
            ann.insert("meta.helm.sh/release-name".into(), HELM_RELEASE.into());
            ann.insert(
                "meta.helm.sh/release-namespace".into(),
                HELM_NAMESPACE.into(),
            );
        }
        let manifest = render::render_yaml(
            "k8s/namespace.yaml.j2",
            &json!({"name": ns, "labels": labels, "annotations": ann}),
        )?;
        parts.push(Check::new(
            State::Missing,
            vec![Action::new(
                format!("create namespace {ns}"),
                env.kube.apply_as(
                    "kubectl-hyperpod-namespaces",
                    format!("create namespace {ns}"),
                    &format!("Namespace {ns}"),
                    &manifest,
                ),
            )
            .doc(&format!("Namespace {ns}"), &manifest)],
        ));
    }
    Ok(Check::merge(parts))
}

fn addon_check(env: &StepEnv, inp: &Inputs, addon: &str, role_arn: &str) -> Result<Check> {
    let aws = &env.ctx.aws;
    let eks = inp.facts.eks_cluster.as_str();
    let tags = json!({marks::TAG_MANAGED_BY.0: marks::TAG_MANAGED_BY.1, marks::TAG_CLUSTER: inp.config.hyperpod_cluster}).to_string();
    let wait = Action::new(
        format!("wait for {addon} to become ACTIVE"),
        aws.cmd(
            format!("wait for the {addon} add-on to become active"),
            &[
                "eks",
                "wait",
                "addon-active",
                "--cluster-name",
                eks,
                "--addon-name",
                addon,
            ],
        )
        .timeout(inp.config.wait_timeout),
    );
    let create = Check::new(
        State::Missing,
        vec![
            Action::new(
                format!("create add-on {addon}"),
                aws.cmd(
                    format!("create the {addon} add-on"),
                    &[
                        "eks",
                        "create-addon",
                        "--cluster-name",
                        eks,
                        "--addon-name",
                        addon,
                        "--service-account-role-arn",
                        role_arn,
                        "--resolve-conflicts",
                        "OVERWRITE",
                        "--tags",
                        &tags,
                    ],
                )
                .mutating(),
            ),
            wait.clone(),
        ],
    );
    if env.offline {
        return Ok(create);
    }
    let describe = aws.cmd(
        format!("read the {addon} add-on"),
        &[
            "eks",
            "describe-addon",
            "--cluster-name",
            eks,
            "--addon-name",
            addon,
        ],
    );
    let out = env.ctx.runner.run_unchecked(&describe)?;
    if !out.success() {
        if crate::tools::aws::is_not_found(&out) {
            return Ok(create);
        }
        return Err(crate::exec::command_error(&describe, &out));
    }
    let v: Value = crate::exec::parse_json(&describe, &out.stdout)?;
    let status = v["addon"]["status"]
        .as_str()
        .unwrap_or("UNKNOWN")
        .to_string();
    let current_role = v["addon"]["serviceAccountRoleArn"].as_str().unwrap_or("");
    let update = Action::new(
        format!("update add-on {addon}"),
        aws.cmd(
            format!("update the {addon} add-on"),
            &[
                "eks",
                "update-addon",
                "--cluster-name",
                eks,
                "--addon-name",
                addon,
                "--service-account-role-arn",
                role_arn,
                "--resolve-conflicts",
                "OVERWRITE",
            ],
        )
        .mutating(),
    );
    if current_role != role_arn {
        return Ok(Check::new(State::Drifted, vec![update, wait]).note(format!(
            "add-on {addon} uses role {} instead of {role_arn}",
            if current_role.is_empty() {
                "none"
            } else {
                current_role
            }
        )));
    }
    match status.as_str() {
        "ACTIVE" => Ok(Check::satisfied()),
        "CREATING" | "UPDATING" => {
            Ok(Check::new(State::Drifted, vec![wait]).note(format!("add-on {addon} is {status}")))
        }
        _ => Ok(Check::new(State::Drifted, vec![update, wait])
            .note(format!("add-on {addon} is {status}"))),
    }
}

fn nvidia_check(env: &StepEnv, inp: &Inputs) -> Result<Check> {
    let manifest = render::render_yaml(
        "k8s/nvidia-device-plugin.yaml.j2",
        &json!({"version": NVIDIA_PLUGIN_VERSION, "labels": inp.k8s_labels()}),
    )?;
    let apply = Action::new(
        "apply the NVIDIA device plugin DaemonSet",
        env.kube.apply_as(
            "kubectl-hyperpod-nvidia-device-plugin",
            "apply the NVIDIA device plugin DaemonSet",
            "DaemonSet nvidia-device-plugin-daemonset",
            &manifest,
        ),
    )
    .doc(
        "DaemonSet kube-system/nvidia-device-plugin-daemonset",
        &manifest,
    );
    let Some(found) = kget(env, "daemonset", NVIDIA_DAEMONSET, Some("kube-system"))? else {
        return Ok(Check::new(State::Missing, vec![apply]));
    };
    let ours = found["metadata"]["labels"][marks::LABEL_MANAGED.0] == marks::LABEL_MANAGED.1;
    let image = str_at(&found, "/spec/template/spec/containers/0/image").unwrap_or("");
    let want = str_at(&manifest, "/spec/template/spec/containers/0/image").unwrap_or("");
    if !ours {
        return Ok(Check::satisfied().note(format!(
            "an existing device plugin ({image}) is kept as it is"
        )));
    }
    if image != want {
        return Ok(Check::new(State::Drifted, vec![apply])
            .note(format!("device plugin image is {image}, expected {want}")));
    }
    Ok(Check::satisfied())
}

/// Who installed cert-manager, when it is already on the cluster and not from this release
/// (the EKS add-on, its own chart ...): then the chart's cert-manager subchart must stay off, or
/// Helm refuses its CRDs ("invalid ownership metadata").
fn foreign_cert_manager(env: &StepEnv) -> Result<Option<String>> {
    if env.offline {
        return Ok(None);
    }
    for crd in CERT_MANAGER_CRDS {
        let Some(obj) = kget(env, "customresourcedefinition", crd, None)? else {
            continue;
        };
        if in_setup_release(&obj) {
            return Ok(None);
        }
        let release = str_at(&obj, "/metadata/annotations/meta.helm.sh~1release-name");
        let release_ns = str_at(
            &obj,
            "/metadata/annotations/meta.helm.sh~1release-namespace",
        );
        let by = match (release, release_ns) {
            (Some(r), Some(ns)) => format!("Helm release {ns}/{r}"),
            _ => str_at(&obj, "/metadata/labels/app.kubernetes.io~1managed-by")
                .map(str::to_string)
                .unwrap_or_else(|| "something other than this chart".into()),
        };
        return Ok(Some(format!("CRD {crd} (installed by {by})")));
    }
    Ok(None)
}

fn operator_check(env: &StepEnv, inp: &Inputs) -> Result<Check> {
    let foreign = foreign_cert_manager(env)?;
    let values = inp.helm_values(foreign.is_none())?;
    let check = operator_release_check(env, inp, values)?;
    Ok(match foreign {
        Some(f) => check.note(format!(
            "cert-manager is already installed ({f}): the chart's own cert-manager is turned off"
        )),
        None => check,
    })
}

fn operator_release_check(env: &StepEnv, inp: &Inputs, values: Value) -> Result<Check> {
    let mut actions = Vec::new();
    let chart_path = match &inp.config.chart {
        ChartSource::Local { path } => path.display().to_string(),
        ChartSource::Git {
            url,
            reference,
            cache_dir,
        } => {
            let chart = cache_dir.join(super::CHART_SUBDIR);
            if !chart.join("Chart.yaml").exists() || !chart.join("charts").exists() {
                let dir = cache_dir.display().to_string();
                actions.push(Action::new(
                    "fetch the inference operator chart",
                    Cmd::new("git", "fetch the inference operator chart")
                        .args([
                            "clone",
                            "--filter=blob:none",
                            "--no-checkout",
                            url.as_str(),
                            dir.as_str(),
                        ])
                        .timeout(Duration::from_secs(300))
                        .mutating(),
                ));
                actions.push(Action::new(
                    format!("check out chart revision {reference}"),
                    Cmd::new(
                        "git",
                        format!("check out revision {reference} of the chart"),
                    )
                    .args([
                        "-C",
                        dir.as_str(),
                        "checkout",
                        "--quiet",
                        reference.as_str(),
                    ])
                    .timeout(Duration::from_secs(300))
                    .mutating(),
                ));
                actions.push(Action::new(
                    "fetch the chart's dependencies",
                    Cmd::new("helm", "fetch the chart's dependencies")
                        .args(["dependency", "update", &chart.display().to_string()])
                        .timeout(Duration::from_secs(300))
                        .mutating(),
                ));
            }
            chart.display().to_string()
        }
    };
    let timeout = format!("{}s", inp.config.wait_timeout.as_secs());
    // The release's own label (on its storage Secret): how teardown knows the release is setup's.
    let labels = format!("{}={}", marks::LABEL_MANAGED.0, marks::LABEL_MANAGED.1);
    let install = Action::new(
        "helm upgrade --install the inference operator",
        env.kube
            .helm(
                "install the inference operator chart",
                &[
                    "upgrade",
                    "--install",
                    HELM_RELEASE,
                    chart_path.as_str(),
                    "--namespace",
                    HELM_NAMESPACE,
                    "--values",
                    "-",
                    "--labels",
                    labels.as_str(),
                    "--wait",
                    "--timeout",
                    timeout.as_str(),
                ],
            )
            .stdin_doc("helm values", values.to_string().into_bytes())
            .timeout(inp.config.wait_timeout + Duration::from_secs(60))
            .mutating(),
    )
    .doc("helm values", &values);
    actions.push(install);
    if env.offline {
        return Ok(Check::new(State::Missing, actions));
    }
    let Some(st) = env
        .kube
        .helm_release(&env.ctx.runner, HELM_RELEASE, HELM_NAMESPACE)?
    else {
        return Ok(Check::new(State::Missing, actions));
    };
    let phase = str_at(&st, "/info/status").unwrap_or("unknown").to_string();
    let getv = env.kube.helm(
        "read the operator's helm values",
        &[
            "get",
            "values",
            HELM_RELEASE,
            "--namespace",
            HELM_NAMESPACE,
            "-o",
            "json",
        ],
    );
    let current: Value = env.ctx.runner.json(&getv)?;
    let diffs = value_diffs("", &values, &current);
    if phase == "deployed" && diffs.is_empty() {
        return Ok(Check::satisfied());
    }
    let mut c = Check::new(State::Drifted, actions);
    if phase != "deployed" {
        c = c.note(format!("release {HELM_RELEASE} is {phase}"));
    }
    for d in diffs {
        c = c.note(d);
    }
    Ok(c)
}

/// Differences between wanted and current values (only keys we set are compared).
fn value_diffs(path: &str, want: &Value, have: &Value) -> Vec<String> {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => w
            .iter()
            .flat_map(|(k, v)| {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                value_diffs(&p, v, h.get(k).unwrap_or(&Value::Null))
            })
            .collect(),
        (Value::Object(w), _) => {
            value_diffs(path, &Value::Object(w.clone()), &Value::Object(Map::new()))
        }
        (w, h) if w == h => vec![],
        (w, h) => vec![format!("value {path} is {h}, expected {w}")],
    }
}

fn operator_sa_check(env: &StepEnv, inp: &Inputs) -> Result<Check> {
    let arn = inp.operator_role_arn();
    match kget(
        env,
        "serviceaccount",
        OPERATOR_SA.name,
        Some(OPERATOR_SA.namespace),
    )? {
        None => Ok(annotate_sa(env, OPERATOR_SA, &arn)
            .with_state(State::Deferred)
            .note("created by the chart; annotated if the chart did not")),
        Some(sa)
            if str_at(&sa, "/metadata/annotations/eks.amazonaws.com~1role-arn")
                == Some(arn.as_str()) =>
        {
            Ok(Check::satisfied())
        }
        Some(sa) => Ok(annotate_sa(env, OPERATOR_SA, &arn).note(format!(
            "annotated with {} instead of {arn}",
            str_at(&sa, "/metadata/annotations/eks.amazonaws.com~1role-arn").unwrap_or("no role")
        ))),
    }
}

fn test_deployment_check(env: &StepEnv, inp: &Inputs) -> Result<Check> {
    let model = inp.test_model()?;
    let secs = inp.config.wait_timeout.as_secs();
    let to = format!("--timeout={secs}s");
    let k = &env.kube;
    let mut actions = Vec::new();
    let leftover =
        !env.offline && kget(env, "jumpstartmodel", TEST_MODEL_NAME, Some("default"))?.is_some();
    if leftover {
        actions.push(Action::new(
            "remove a test model left by an earlier run",
            k.kubectl(
                "remove an earlier test model",
                &[
                    "delete",
                    "jumpstartmodel",
                    TEST_MODEL_NAME,
                    "-n",
                    "default",
                    "--wait=true",
                    &to,
                ],
            )
            .timeout(inp.config.wait_timeout + Duration::from_secs(30))
            .mutating(),
        ));
    }
    actions.push(
        Action::new(
            "create the test model",
            k.apply_as(
                "kubectl-hyperpod-test-deployment",
                "create the test JumpStartModel",
                "JumpStartModel",
                &model,
            ),
        )
        .doc(&format!("JumpStartModel default/{TEST_MODEL_NAME}"), &model),
    );
    // Deploy's watcher: DeploymentFailed stops the wait at once with the operator's diagnosis.
    // A model that fails (or times out) is kept, as `deploy` keeps one, for describe and logs;
    // the next setup finds it and tests again.
    actions.push(Action::wait(
        "wait for DeploymentComplete (stops at once on DeploymentFailed)",
        k,
        ModelWait::new(
            ModelKind::JumpStartModel,
            "default",
            TEST_MODEL_NAME,
            inp.config.wait_timeout,
            format!(
                "the test model default/{TEST_MODEL_NAME} is kept for inspection \
                 (`kubectl hyperpod describe {TEST_MODEL_NAME}`, `kubectl hyperpod logs {TEST_MODEL_NAME}`); \
                 the next `kubectl hyperpod setup` replaces it and tests again, \
                 `kubectl hyperpod delete {TEST_MODEL_NAME}` removes it"
            ),
        ),
    ));
    actions.push(Action::new(
        "remove the test model",
        k.kubectl(
            "remove the test model",
            &[
                "delete",
                "jumpstartmodel",
                TEST_MODEL_NAME,
                "-n",
                "default",
                "--wait=true",
                &to,
            ],
        )
        .timeout(inp.config.wait_timeout + Duration::from_secs(30))
        .mutating(),
    ));
    if leftover {
        // The last test did not finish: run it again even when nothing else changes.
        return Ok(Check::new(State::Drifted, actions).note(format!(
            "test model {TEST_MODEL_NAME} from an earlier run is still there"
        )));
    }
    Ok(Check::new(State::Deferred, actions).note("runs only when this run changed something"))
}

impl Check {
    fn with_state(mut self, s: State) -> Self {
        self.state = s;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_diffs_compare_only_wanted_keys() {
        let want = json!({"a": 1, "b": {"c": "x"}});
        let have = json!({"a": 1, "b": {"c": "y", "d": 2}, "e": 3});
        assert_eq!(
            value_diffs("", &want, &have),
            ["value b.c is \"y\", expected \"x\""]
        );
        assert!(value_diffs("", &want, &json!({"a": 1, "b": {"c": "x"}})).is_empty());
    }
}
