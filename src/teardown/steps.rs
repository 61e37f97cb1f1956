//! The steps of teardown: setup in reverse dependency order. Each check says what is there
//! (`absent`), what stays and why (`keep`: not created by setup, or a flag keeps it), what goes
//! (`remove`, with the exact commands) and what may not go as asked (`blocked`).

use std::time::Duration;

use serde_json::Value;

use super::owned::{self, Owner};
use super::{ModelPolicy, TeardownConfig};
use crate::deploy::kind::ModelKind;
use crate::error::{Error, Result};
use crate::setup::iam::read_opt;
use crate::setup::names::*;
use crate::setup::plan::{Action, Check, State, StepDef, StepEnv};
use crate::setup::Facts;
use crate::tools::kube::str_at;

/// Everything the steps need, borrowed for the life of a plan and its execution.
pub struct Inputs<'a> {
    pub config: &'a TeardownConfig,
    pub names: &'a Names,
    pub facts: &'a Facts,
    /// The model resources found before planning (every namespace).
    pub models: &'a [Value],
}

impl Inputs<'_> {
    fn cluster(&self) -> &str {
        &self.config.hyperpod_cluster
    }

    /// With `--keep-models` and model resources present, the operator and everything it runs
    /// on stay: removing any of it would orphan the models or leak their load balancers.
    pub fn keeps_operator(&self) -> bool {
        self.config.models == ModelPolicy::Keep
            && self.models.iter().any(|m| !is_setup_test_model(m))
    }

    fn timeout_arg(&self) -> String {
        format!("--timeout={}s", self.config.wait_timeout.as_secs())
    }

    /// The deadline of a command that waits: the wait's own deadline plus a margin.
    fn cmd_timeout(&self) -> Duration {
        self.config.wait_timeout + Duration::from_secs(60)
    }

    fn policy_arn(&self, name: &str) -> String {
        format!("arn:aws:iam::{}:policy/{name}", self.facts.account)
    }
}

/// A note recording something left in place, and why. Notes starting with `kept: ` are listed
/// in the result under "left in place".
pub fn kept_note(what: &str, why: &str) -> String {
    format!("kept: {what}: {why}")
}

fn kept(what: &str, why: &str) -> Check {
    Check::new(State::Kept, vec![]).note(kept_note(what, why))
}

fn absent(what: &str) -> Check {
    Check::new(State::Absent, vec![]).note(format!("{what}: not there"))
}

const KEEP_MODELS: &str =
    "model resources remain (--keep-models) and the operator needs it to manage them";

/// The test model setup creates (and removes) itself: removed without `--delete-models`.
pub fn is_setup_test_model(m: &Value) -> bool {
    m["kind"] == "JumpStartModel"
        && m["metadata"]["name"] == TEST_MODEL_NAME
        && m["metadata"]["namespace"] == "default"
        && m["metadata"]["labels"][crate::marks::LABEL_MANAGED.0] == crate::marks::LABEL_MANAGED.1
}

/// Every JumpStartModel and InferenceEndpointConfig in every namespace (none when the CRDs
/// are not installed).
pub fn list_models(env: &StepEnv) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for k in ModelKind::ALL {
        out.extend(
            env.kube
                .list(&env.ctx.runner, k.resource(), None, None)?
                .into_iter()
                .map(|mut m| {
                    // `kubectl get -A -o json` keeps kind on items; make sure of it.
                    if m["kind"].is_null() {
                        m["kind"] = k.kind().into();
                    }
                    m
                }),
        );
    }
    Ok(out)
}

fn model_kind(m: &Value) -> ModelKind {
    m["kind"]
        .as_str()
        .and_then(ModelKind::from_kind)
        .unwrap_or(ModelKind::JumpStartModel)
}

fn ns_name(m: &Value) -> (String, String) {
    (
        m["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string(),
        m["metadata"]["name"].as_str().unwrap_or("").to_string(),
    )
}

/// `JumpStartModel default/x (DeploymentComplete)`.
pub fn describe_model(m: &Value) -> String {
    let (ns, name) = ns_name(m);
    let state = str_at(m, "/status/deploymentStatus/deploymentObjectOverallState")
        .or_else(|| str_at(m, "/status/state"))
        .unwrap_or("no status yet");
    let deleting = if m["metadata"]["deletionTimestamp"].is_string() {
        ", being deleted"
    } else {
        ""
    };
    format!("{} {ns}/{name} ({state}{deleting})", model_kind(m).kind())
}

/// The command that clears an object's finalizers by hand (never run by teardown).
pub fn clear_finalizers_cmd(resource: &str, ns: Option<&str>, name: &str) -> String {
    let ns = ns.map(|n| format!(" -n {n}")).unwrap_or_default();
    format!(
        "kubectl patch {resource} {name}{ns} --type merge -p '{{\"metadata\":{{\"finalizers\":null}}}}'"
    )
}

/// The step graph, in the order of the issue: models, operator, add-ons, device plugin,
/// ServiceAccounts, namespaces, IAM roles, policies, OIDC provider.
pub fn all<'a>(inp: &'a Inputs<'a>) -> Vec<StepDef<'a>> {
    let c = inp.config;
    let n = inp.names;
    let mut steps = vec![StepDef::new(
        "resolve",
        "resolve the EKS cluster, account and OIDC issuer",
        &[],
        move |_| {
            let f = inp.facts;
            Ok(Check::new(State::Info, vec![])
                .note(format!(
                    "HyperPod cluster {} -> EKS cluster {}",
                    c.hyperpod_cluster, f.eks_cluster
                ))
                .note(format!("account {}, region {}", f.account, c.region))
                .note(format!("kube context {}", f.context)))
        },
    )];
    steps.push(StepDef::new(
        "models",
        "model resources (JumpStartModel, InferenceEndpointConfig) in every namespace",
        &["resolve"],
        move |env| models_check(env, inp),
    ));
    steps.push(StepDef::new(
        "inference-operator",
        format!("helm release {HELM_RELEASE} in {HELM_NAMESPACE} (operator, CRDs, load balancer controller)"),
        &["models"],
        move |env| operator_check(env, inp),
    ));
    steps.push(StepDef::new(
        "s3-csi-addon",
        format!("EKS add-on {S3_CSI_ADDON}"),
        &["inference-operator"],
        move |env| addon_check(env, inp, S3_CSI_ADDON),
    ));
    steps.push(StepDef::new(
        "fsx-csi-addon",
        format!("EKS add-on {FSX_CSI_ADDON}"),
        &["inference-operator"],
        move |env| addon_check(env, inp, FSX_CSI_ADDON),
    ));
    steps.push(StepDef::new(
        "nvidia-device-plugin",
        format!("DaemonSet kube-system/{NVIDIA_DAEMONSET}"),
        &["models"],
        move |env| nvidia_check(env, inp),
    ));
    steps.push(StepDef::new(
        "alb-service-account",
        format!("ServiceAccount {}/{}", ALB_SA.namespace, ALB_SA.name),
        &["inference-operator"],
        move |env| service_account_check(env, inp, ALB_SA, None),
    ));
    steps.push(StepDef::new(
        "s3-service-account",
        format!("ServiceAccount {}/{}", S3_CSI_SA.namespace, S3_CSI_SA.name),
        &["s3-csi-addon"],
        move |env| service_account_check(env, inp, S3_CSI_SA, Some(S3_CSI_ADDON)),
    ));
    steps.push(StepDef::new(
        "namespaces",
        format!("namespaces keda, cert-manager, {OPERATOR_NAMESPACE}"),
        &[
            "inference-operator",
            "alb-service-account",
            "s3-service-account",
        ],
        move |env| namespaces_check(env, inp),
    ));
    // IAM goes last among the things the cluster uses: a failure in the cluster leaves every
    // role in place, so whatever still runs keeps its permissions until a re-run.
    const AFTER_CLUSTER: &[&str] = &[
        "inference-operator",
        "s3-csi-addon",
        "fsx-csi-addon",
        "nvidia-device-plugin",
        "alb-service-account",
        "s3-service-account",
        "namespaces",
    ];
    let roles: [(&'static str, &'a str, &'static str); 6] = [
        (
            "operator-role",
            &n.operator_role.name,
            "inference operator role",
        ),
        (
            "alb-role",
            &n.alb_role.name,
            "load balancer controller role",
        ),
        ("s3-role", &n.s3_role.name, "S3 CSI driver role"),
        ("keda-role", &n.keda_role.name, "KEDA operator role"),
        ("fsx-role", &n.fsx_role.name, "FSx CSI driver role"),
        (
            "gated-model-role",
            &n.gated_role.name,
            "JumpStart gated-model download role",
        ),
    ];
    for (id, name, what) in roles {
        steps.push(StepDef::new(
            id,
            format!("{what} {name}"),
            AFTER_CLUSTER,
            move |env| role_check(env, inp, name),
        ));
    }
    steps.push(StepDef::new(
        "alb-policy",
        format!("load balancer controller policy {}", n.alb_policy.name),
        &["alb-role"],
        move |env| policy_check(env, inp, &n.alb_policy.name),
    ));
    steps.push(StepDef::new(
        "s3-policy",
        format!("S3 mountpoint policy {}", n.s3_policy.name),
        &["s3-role"],
        move |env| policy_check(env, inp, &n.s3_policy.name),
    ));
    steps.push(StepDef::new(
        "oidc-provider",
        "IAM OIDC identity provider of the cluster",
        &[
            "alb-policy",
            "s3-policy",
            "operator-role",
            "alb-role",
            "s3-role",
            "keda-role",
            "fsx-role",
            "gated-model-role",
        ],
        move |env| oidc_check(env, inp),
    ));
    steps
}

// ---------------------------------------------------------------------------------------------
// Kubernetes

fn models_check(env: &StepEnv, inp: &Inputs) -> Result<Check> {
    let listed;
    let items: &[Value] = if env.executing {
        listed = list_models(env)?;
        &listed
    } else {
        inp.models
    };
    if items.is_empty() {
        return Ok(Check::new(State::Absent, vec![])
            .note("no JumpStartModel or InferenceEndpointConfig in any namespace"));
    }
    let k = &env.kube;
    let to = inp.timeout_arg();
    let mut state = State::Kept;
    let (mut notes, mut deletes, mut waits, mut blocked) = (vec![], vec![], vec![], vec![]);
    for m in items {
        let desc = describe_model(m);
        let test = is_setup_test_model(m);
        if !test && inp.config.models == ModelPolicy::Keep {
            notes.push(kept_note(&desc, "--keep-models"));
            continue;
        }
        if !test && inp.config.models == ModelPolicy::Refuse {
            blocked.push(desc);
            continue;
        }
        state = State::Present;
        notes.push(if test {
            format!("{desc}: setup's test model")
        } else {
            desc.clone()
        });
        let kind = model_kind(m);
        let (ns, name) = ns_name(m);
        let what = format!("{} {ns}/{name}", kind.kind());
        if !m["metadata"]["deletionTimestamp"].is_string() {
            deletes.push(Action::new(
                format!("delete {what}"),
                k.kubectl(
                    format!("delete {what}"),
                    &[
                        "delete",
                        kind.resource(),
                        &name,
                        "-n",
                        &ns,
                        "--wait=false",
                        "--ignore-not-found",
                    ],
                )
                .mutating(),
            ));
        }
        waits.push(Action::new(
            format!("wait until the operator has released {what}"),
            k.kubectl(
                format!("wait until the operator has released {what} (its finalizers gone)"),
                &[
                    "wait",
                    "--for=delete",
                    &format!("{}/{name}", kind.resource()),
                    "-n",
                    &ns,
                    &to,
                ],
            )
            .timeout(inp.cmd_timeout()),
        ));
    }
    if !blocked.is_empty() {
        let msg = format!(
            "{} model resource(s) exist: {}",
            blocked.len(),
            blocked.join(", ")
        );
        if env.executing {
            return Err(refuse_models(&msg));
        }
        let mut c = Check::new(State::Blocked, vec![]).note(msg);
        c.notes.extend(notes);
        return Ok(c.note(MODELS_HINT));
    }
    // Delete them all first, then wait: the operator releases them in parallel.
    deletes.extend(waits);
    let mut c = Check::new(state, deletes);
    c.notes = notes;
    Ok(c)
}

const MODELS_HINT: &str = "pass --delete-models to delete them (teardown waits until the operator has released their load balancers), or --keep-models to keep them and the operator";

pub(crate) fn refuse_models(msg: &str) -> Error {
    Error::failed(
        format!("teardown refuses to run: {msg}"),
        Some(MODELS_HINT.into()),
    )
}

/// Ingresses and Services whose load balancer the AWS Load Balancer Controller (part of the
/// operator chart) still holds: uninstalling the controller first would leak the load balancer.
fn load_balancer_holders(env: &StepEnv) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for kind in ["ingresses.networking.k8s.io", "services"] {
        for o in env.kube.list(&env.ctx.runner, kind, None, None)? {
            let held = o["metadata"]["finalizers"]
                .as_array()
                .map(|f| {
                    f.iter().filter_map(Value::as_str).any(|f| {
                        f.contains("ingress.k8s.aws/") || f.starts_with("service.k8s.aws/")
                    })
                })
                .unwrap_or(false);
            if held {
                out.push(o);
            }
        }
    }
    Ok(out)
}

fn owned_by_model(o: &Value) -> bool {
    o["metadata"]["ownerReferences"]
        .as_array()
        .map(|refs| {
            refs.iter()
                .any(|r| r["kind"].as_str().and_then(ModelKind::from_kind).is_some())
        })
        .unwrap_or(false)
}

fn operator_check(env: &StepEnv, inp: &Inputs) -> Result<Check> {
    let what = format!("helm release {HELM_RELEASE}");
    let status = env.kube.helm(
        "read the operator's helm release",
        &[
            "status",
            HELM_RELEASE,
            "--namespace",
            HELM_NAMESPACE,
            "-o",
            "json",
        ],
    );
    let out = env.ctx.runner.run_unchecked(&status)?;
    if !out.success() {
        if out.stderr.contains("not found") {
            return Ok(absent(&what));
        }
        return Err(crate::exec::command_error(&status, &out));
    }
    let owner = release_owner(env, inp)?;
    if !owner.is_ours() {
        return Ok(kept(&what, &owner.reason()));
    }
    if inp.keeps_operator() {
        return Ok(kept(&what, KEEP_MODELS));
    }
    let mut actions = Vec::new();
    let mut notes = Vec::new();
    let mut foreign = Vec::new();
    for o in load_balancer_holders(env)? {
        let kind = o["kind"].as_str().unwrap_or("Service").to_string();
        let (ns, name) = ns_name(&o);
        if owned_by_model(&o) {
            notes.push(format!(
                "{kind} {ns}/{name} of a model: its load balancer is released with the model"
            ));
            if env.executing {
                let res = if kind == "Ingress" {
                    "ingresses.networking.k8s.io"
                } else {
                    "services"
                };
                actions.push(Action::new(
                    format!("wait until the load balancer of {kind} {ns}/{name} is released"),
                    env.kube
                        .kubectl(
                            format!("wait until {kind} {ns}/{name} is gone"),
                            &[
                                "wait",
                                "--for=delete",
                                &format!("{res}/{name}"),
                                "-n",
                                &ns,
                                &inp.timeout_arg(),
                            ],
                        )
                        .timeout(inp.cmd_timeout()),
                ));
            }
        } else {
            foreign.push(format!(
                "{kind} {ns}/{name} holds an AWS load balancer (delete it first: kubectl delete {} {name} -n {ns})",
                kind.to_lowercase()
            ));
        }
    }
    if !foreign.is_empty() {
        let msg = format!(
            "uninstalling the operator removes the AWS Load Balancer Controller, which would leak the load balancers of: {}",
            foreign.join("; ")
        );
        if env.executing {
            return Err(Error::failed(
                msg,
                Some("delete those resources (the controller then releases their load balancers) and re-run teardown".into()),
            ));
        }
        let mut c = Check::new(State::Blocked, vec![]).note(msg);
        c.notes.extend(notes);
        return Ok(c);
    }
    let timeout = format!("{}s", inp.config.wait_timeout.as_secs());
    actions.push(Action::new(
        format!("helm uninstall {HELM_RELEASE}"),
        env.kube
            .helm(
                "uninstall the inference operator chart",
                &[
                    "uninstall",
                    HELM_RELEASE,
                    "--namespace",
                    HELM_NAMESPACE,
                    "--wait",
                    "--timeout",
                    &timeout,
                ],
            )
            .timeout(inp.cmd_timeout())
            .mutating(),
    ));
    let mut c = Check::new(State::Present, actions);
    c.notes = notes;
    Ok(c.note("the chart's CRDs go with it (the chart renders them as templates)"))
}

/// The release is setup's when it carries setup's release label (`helm --labels`), or when its
/// namespace is the one setup created for the chart to adopt (setup's marks on it).
fn release_owner(env: &StepEnv, inp: &Inputs) -> Result<Owner> {
    let meta = env.kube.helm(
        "read the operator release's metadata",
        &[
            "get",
            "metadata",
            HELM_RELEASE,
            "--namespace",
            HELM_NAMESPACE,
            "-o",
            "json",
        ],
    );
    let out = env.ctx.runner.run_unchecked(&meta)?;
    if out.success() {
        let v: Value = crate::exec::parse_json(&meta, &out.stdout)?;
        if v["labels"][crate::marks::LABEL_MANAGED.0] == crate::marks::LABEL_MANAGED.1 {
            return Ok(Owner::Ours);
        }
    }
    match env
        .kube
        .get(&env.ctx.runner, "namespace", OPERATOR_NAMESPACE, None)?
    {
        Some(ns) => Ok(owned::k8s(&ns, inp.cluster())),
        None => Ok(Owner::NotOurs),
    }
}

fn addon_check(env: &StepEnv, inp: &Inputs, addon: &str) -> Result<Check> {
    let aws = &env.ctx.aws;
    let eks = inp.facts.eks_cluster.as_str();
    let what = format!("EKS add-on {addon}");
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
    let Some(v) = read_opt(env, &describe)? else {
        return Ok(absent(&what));
    };
    let owner = owned::addon(&v["addon"]["tags"], inp.cluster());
    if !owner.is_ours() {
        return Ok(kept(&what, &owner.reason()));
    }
    if inp.keeps_operator() {
        return Ok(kept(&what, KEEP_MODELS));
    }
    let mut actions = Vec::new();
    if v["addon"]["status"] != "DELETING" {
        actions.push(Action::new(
            format!("delete add-on {addon}"),
            aws.cmd(
                format!("delete the {addon} add-on"),
                &[
                    "eks",
                    "delete-addon",
                    "--cluster-name",
                    eks,
                    "--addon-name",
                    addon,
                ],
            )
            .mutating(),
        ));
    }
    actions.push(Action::new(
        format!("wait until {addon} is deleted"),
        aws.cmd(
            format!("wait until the {addon} add-on is deleted"),
            &[
                "eks",
                "wait",
                "addon-deleted",
                "--cluster-name",
                eks,
                "--addon-name",
                addon,
            ],
        )
        .timeout(inp.config.wait_timeout),
    ));
    Ok(Check::new(State::Present, actions).note(format!(
        "{what}: the objects it installed in the cluster go with it"
    )))
}

fn delete_k8s(env: &StepEnv, inp: &Inputs, kind: &str, name: &str, ns: Option<&str>) -> Action {
    let what = match ns {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    };
    let to = inp.timeout_arg();
    let mut args = vec!["delete", kind, name];
    if let Some(ns) = ns {
        args.extend(["-n", ns]);
    }
    args.extend(["--ignore-not-found", "--wait=true", to.as_str()]);
    Action::new(
        format!("delete {what}"),
        env.kube
            .kubectl(format!("delete {what}"), &args)
            .timeout(inp.cmd_timeout())
            .mutating(),
    )
}

fn nvidia_check(env: &StepEnv, inp: &Inputs) -> Result<Check> {
    let what = format!("DaemonSet kube-system/{NVIDIA_DAEMONSET}");
    let Some(ds) = env.kube.get(
        &env.ctx.runner,
        "daemonset",
        NVIDIA_DAEMONSET,
        Some("kube-system"),
    )?
    else {
        return Ok(absent(&what));
    };
    let owner = owned::k8s(&ds, inp.cluster());
    if !owner.is_ours() {
        return Ok(kept(&what, &owner.reason()));
    }
    if inp.keeps_operator() {
        return Ok(kept(
            &what,
            "model resources remain (--keep-models) and run on GPUs",
        ));
    }
    Ok(Check::new(
        State::Present,
        vec![delete_k8s(
            env,
            inp,
            "daemonset",
            NVIDIA_DAEMONSET,
            Some("kube-system"),
        )],
    ))
}

fn service_account_check(
    env: &StepEnv,
    inp: &Inputs,
    sa: ServiceAccountRef,
    addon: Option<&str>,
) -> Result<Check> {
    let what = format!("ServiceAccount {}/{}", sa.namespace, sa.name);
    let Some(found) = env.kube.get(
        &env.ctx.runner,
        "serviceaccount",
        sa.name,
        Some(sa.namespace),
    )?
    else {
        return Ok(absent(&what));
    };
    let owner = owned::k8s(&found, inp.cluster());
    if inp.keeps_operator() && owner.is_ours() {
        return Ok(kept(&what, KEEP_MODELS));
    }
    if owner.is_ours() {
        return Ok(Check::new(
            State::Present,
            vec![delete_k8s(
                env,
                inp,
                "serviceaccount",
                sa.name,
                Some(sa.namespace),
            )],
        ));
    }
    // The EKS add-on adopts (and relabels) the ServiceAccount setup created for it; deleting
    // the add-on removes it.
    let by_eks =
        found["metadata"]["labels"]["app.kubernetes.io/managed-by"].as_str() == Some("EKS");
    if let (Some(addon), true) = (addon, by_eks) {
        return Ok(Check::new(State::Info, vec![]).note(format!(
            "{what} belongs to the EKS add-on {addon}: removed with the add-on when the add-on is removed"
        )));
    }
    Ok(kept(&what, &owner.reason()))
}

/// Workloads in a namespace that neither setup, the operator's release nor an EKS add-on put
/// there (deleting the namespace would delete them).
fn foreign_workloads(env: &StepEnv, inp: &Inputs, ns: &str) -> Result<Vec<String>> {
    let items = env.kube.list(
        &env.ctx.runner,
        "deployments.apps,statefulsets.apps,daemonsets.apps,jobs.batch,cronjobs.batch",
        Some(ns),
        None,
    )?;
    Ok(items
        .iter()
        .filter(|o| {
            let m = &o["metadata"];
            let helm = m["annotations"]["meta.helm.sh/release-name"] == HELM_RELEASE;
            let eks = m["labels"]["app.kubernetes.io/managed-by"] == "EKS";
            let owned = m["ownerReferences"]
                .as_array()
                .is_some_and(|r| !r.is_empty());
            !(helm || eks || owned || owned::k8s(o, inp.cluster()).is_ours())
        })
        .map(|o| {
            format!(
                "{} {}",
                o["kind"].as_str().unwrap_or("object"),
                o["metadata"]["name"].as_str().unwrap_or("")
            )
        })
        .collect())
}

fn namespaces_check(env: &StepEnv, inp: &Inputs) -> Result<Check> {
    let mut parts = Vec::new();
    for ns in ["keda", "cert-manager", OPERATOR_NAMESPACE] {
        let what = format!("namespace {ns}");
        let Some(found) = env.kube.get(&env.ctx.runner, "namespace", ns, None)? else {
            parts.push(absent(&what));
            continue;
        };
        let owner = owned::k8s(&found, inp.cluster());
        if !owner.is_ours() {
            parts.push(kept(&what, &owner.reason()));
            continue;
        }
        if inp.keeps_operator() {
            parts.push(kept(&what, KEEP_MODELS));
            continue;
        }
        let foreign = foreign_workloads(env, inp, ns)?;
        if !foreign.is_empty() {
            parts.push(kept(
                &what,
                &format!(
                    "it holds workloads setup did not create ({}); delete them and re-run to remove it",
                    foreign.join(", ")
                ),
            ));
            continue;
        }
        let mut c = Check::new(
            State::Present,
            vec![delete_k8s(env, inp, "namespace", ns, None)],
        );
        if ns == OPERATOR_NAMESPACE {
            c = c.note(format!(
                "namespace {ns}: the chart adopted it, so helm uninstall may already remove it"
            ));
        }
        parts.push(c);
    }
    Ok(Check::merge(parts))
}

// ---------------------------------------------------------------------------------------------
// IAM

fn iam_kept_reason(inp: &Inputs) -> Option<&'static str> {
    if inp.config.keep_iam {
        Some("--keep-iam")
    } else if inp.keeps_operator() {
        Some(KEEP_MODELS)
    } else {
        None
    }
}

fn names_of<'v>(v: &'v Value, list: &str, field: &str) -> Vec<&'v str> {
    v[list]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| {
                    if field.is_empty() {
                        x.as_str()
                    } else {
                        x[field].as_str()
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

fn role_check(env: &StepEnv, inp: &Inputs, name: &str) -> Result<Check> {
    let aws = &env.ctx.aws;
    let what = format!("IAM role {name}");
    let get = aws.cmd(
        format!("read IAM role {name}"),
        &["iam", "get-role", "--role-name", name],
    );
    let Some(found) = read_opt(env, &get)? else {
        return Ok(absent(&what));
    };
    let owner = owned::iam(&found["Role"]["Tags"], inp.cluster());
    if !owner.is_ours() {
        return Ok(kept(
            &what,
            &format!(
                "{} (no tags managed-by=kubectl-hyperpod and {}={})",
                owner.reason(),
                crate::marks::TAG_CLUSTER,
                inp.cluster()
            ),
        ));
    }
    if let Some(why) = iam_kept_reason(inp) {
        return Ok(kept(&what, why));
    }
    let read = |purpose: String, args: &[&str]| -> Result<Value> {
        Ok(read_opt(env, &aws.cmd(purpose, args))?.unwrap_or(Value::Null))
    };
    let inline = read(
        format!("list inline policies of IAM role {name}"),
        &["iam", "list-role-policies", "--role-name", name],
    )?;
    let attached = read(
        format!("list policies attached to IAM role {name}"),
        &["iam", "list-attached-role-policies", "--role-name", name],
    )?;
    let profiles = read(
        format!("list instance profiles of IAM role {name}"),
        &[
            "iam",
            "list-instance-profiles-for-role",
            "--role-name",
            name,
        ],
    )?;
    let mut actions = Vec::new();
    for p in names_of(&inline, "PolicyNames", "") {
        actions.push(Action::new(
            format!("delete inline policy {p}"),
            aws.cmd(
                format!("delete inline policy {p} of IAM role {name}"),
                &[
                    "iam",
                    "delete-role-policy",
                    "--role-name",
                    name,
                    "--policy-name",
                    p,
                ],
            )
            .mutating(),
        ));
    }
    for arn in names_of(&attached, "AttachedPolicies", "PolicyArn") {
        actions.push(Action::new(
            format!("detach {}", arn.rsplit('/').next().unwrap_or(arn)),
            aws.cmd(
                format!("detach {arn} from IAM role {name}"),
                &[
                    "iam",
                    "detach-role-policy",
                    "--role-name",
                    name,
                    "--policy-arn",
                    arn,
                ],
            )
            .mutating(),
        ));
    }
    for p in names_of(&profiles, "InstanceProfiles", "InstanceProfileName") {
        actions.push(Action::new(
            format!("remove the role from instance profile {p}"),
            aws.cmd(
                format!("remove IAM role {name} from instance profile {p}"),
                &[
                    "iam",
                    "remove-role-from-instance-profile",
                    "--instance-profile-name",
                    p,
                    "--role-name",
                    name,
                ],
            )
            .mutating(),
        ));
    }
    actions.push(Action::new(
        format!("delete role {name}"),
        aws.cmd(
            format!("delete IAM role {name}"),
            &["iam", "delete-role", "--role-name", name],
        )
        .mutating(),
    ));
    Ok(Check::new(State::Present, actions))
}

/// Roles this teardown removes (setup's, by tag), to tell them from other users of a policy.
fn role_removed(env: &StepEnv, inp: &Inputs, role: &str) -> Result<bool> {
    let n = inp.names;
    let ours_by_name = [
        &n.operator_role,
        &n.alb_role,
        &n.s3_role,
        &n.keda_role,
        &n.fsx_role,
        &n.gated_role,
    ]
    .iter()
    .any(|r| r.name == role);
    if !ours_by_name || iam_kept_reason(inp).is_some() {
        return Ok(false);
    }
    let get = env.ctx.aws.cmd(
        format!("read IAM role {role}"),
        &["iam", "get-role", "--role-name", role],
    );
    Ok(read_opt(env, &get)?
        .map(|r| owned::iam(&r["Role"]["Tags"], inp.cluster()).is_ours())
        .unwrap_or(true))
}

fn policy_check(env: &StepEnv, inp: &Inputs, name: &str) -> Result<Check> {
    let aws = &env.ctx.aws;
    let arn = inp.policy_arn(name);
    let what = format!("IAM policy {name}");
    let get = aws.cmd(
        format!("read IAM policy {name}"),
        &["iam", "get-policy", "--policy-arn", &arn],
    );
    let Some(found) = read_opt(env, &get)? else {
        return Ok(absent(&what));
    };
    let owner = owned::iam(&found["Policy"]["Tags"], inp.cluster());
    if !owner.is_ours() {
        return Ok(kept(&what, &owner.reason()));
    }
    if let Some(why) = iam_kept_reason(inp) {
        return Ok(kept(&what, why));
    }
    let entities = read_opt(
        env,
        &aws.cmd(
            format!("list what IAM policy {name} is attached to"),
            &["iam", "list-entities-for-policy", "--policy-arn", &arn],
        ),
    )?
    .unwrap_or(Value::Null);
    let mut users = Vec::new();
    for r in names_of(&entities, "PolicyRoles", "RoleName") {
        if !role_removed(env, inp, r)? {
            users.push(format!("role {r}"));
        }
    }
    users.extend(
        names_of(&entities, "PolicyUsers", "UserName")
            .into_iter()
            .map(|u| format!("user {u}")),
    );
    users.extend(
        names_of(&entities, "PolicyGroups", "GroupName")
            .into_iter()
            .map(|g| format!("group {g}")),
    );
    if !users.is_empty() {
        return Ok(kept(
            &what,
            &format!(
                "still attached to {} (not removed by teardown); detach it and re-run to remove it",
                users.join(", ")
            ),
        ));
    }
    let versions = read_opt(
        env,
        &aws.cmd(
            format!("list versions of IAM policy {name}"),
            &["iam", "list-policy-versions", "--policy-arn", &arn],
        ),
    )?
    .unwrap_or(Value::Null);
    let mut actions = Vec::new();
    for v in versions["Versions"].as_array().into_iter().flatten() {
        if v["IsDefaultVersion"] == true {
            continue;
        }
        let Some(id) = v["VersionId"].as_str() else {
            continue;
        };
        actions.push(Action::new(
            format!("delete version {id} of {name}"),
            aws.cmd(
                format!("delete version {id} of IAM policy {name}"),
                &[
                    "iam",
                    "delete-policy-version",
                    "--policy-arn",
                    &arn,
                    "--version-id",
                    id,
                ],
            )
            .mutating(),
        ));
    }
    actions.push(Action::new(
        format!("delete policy {name}"),
        aws.cmd(
            format!("delete IAM policy {name}"),
            &["iam", "delete-policy", "--policy-arn", &arn],
        )
        .mutating(),
    ));
    Ok(Check::new(State::Present, actions))
}

fn oidc_check(env: &StepEnv, inp: &Inputs) -> Result<Check> {
    let aws = &env.ctx.aws;
    let arn = inp.facts.oidc.provider_arn.as_str();
    let what = format!("IAM OIDC provider {}", inp.facts.oidc.host);
    let list = aws.cmd(
        "list IAM OIDC identity providers",
        &["iam", "list-open-id-connect-providers"],
    );
    let v: Value = env.ctx.runner.json(&list)?;
    let found = v["OpenIDConnectProviderList"]
        .as_array()
        .is_some_and(|a| a.iter().any(|p| p["Arn"] == arn));
    if !found {
        return Ok(absent(&what));
    }
    if !inp.config.delete_oidc_provider {
        return Ok(kept(
            &what,
            "other workloads on the cluster may use it (pass --delete-oidc-provider to remove it)",
        ));
    }
    let get = aws.cmd(
        "read the cluster's IAM OIDC provider",
        &[
            "iam",
            "get-open-id-connect-provider",
            "--open-id-connect-provider-arn",
            arn,
        ],
    );
    let p = read_opt(env, &get)?.unwrap_or(Value::Null);
    let owner = owned::iam(&p["Tags"], inp.cluster());
    if !owner.is_ours() {
        return Ok(kept(&what, &owner.reason()));
    }
    if let Some(why) = iam_kept_reason(inp) {
        return Ok(kept(&what, why));
    }
    Ok(Check::new(
        State::Present,
        vec![Action::new(
            "delete the IAM OIDC provider",
            aws.cmd(
                format!("delete the IAM OIDC provider {arn}"),
                &[
                    "iam",
                    "delete-open-id-connect-provider",
                    "--open-id-connect-provider-arn",
                    arn,
                ],
            )
            .mutating(),
        )],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_setup_test_model_is_recognised_by_name_namespace_and_label() {
        let m = json!({"kind": "JumpStartModel", "metadata": {"name": TEST_MODEL_NAME, "namespace": "default", "labels": {"kubectl-hyperpod.io/managed": "true"}}});
        assert!(is_setup_test_model(&m));
        let mut other = m.clone();
        other["metadata"]["namespace"] = "team-a".into();
        assert!(!is_setup_test_model(&other));
        let mut unlabelled = m.clone();
        unlabelled["metadata"]["labels"] = json!({});
        assert!(!is_setup_test_model(&unlabelled));
    }

    #[test]
    fn merged_parts_show_the_strongest_teardown_state() {
        let st = |parts: Vec<Check>| Check::merge(parts).state;
        assert_eq!(st(vec![absent("a"), absent("b")]), State::Absent);
        assert_eq!(st(vec![absent("a"), kept("b", "why")]), State::Kept);
        let remove = || Check::new(State::Present, vec![]);
        assert_eq!(
            st(vec![kept("b", "why"), remove(), absent("a")]),
            State::Present
        );
        let blocked = Check::new(State::Blocked, vec![]);
        assert_eq!(st(vec![remove(), blocked]), State::Blocked);
        let notes = Check::merge(vec![kept("namespace keda", "--keep-models"), absent("x")]).notes;
        assert_eq!(notes[0], "kept: namespace keda: --keep-models");
    }

    #[test]
    fn model_descriptions_and_the_clear_command() {
        let m = json!({"kind": "InferenceEndpointConfig", "metadata": {"name": "x", "namespace": "ns", "deletionTimestamp": "2026-01-01T00:00:00Z"}, "status": {"deploymentStatus": {"deploymentObjectOverallState": "DeletionInProgress"}}});
        assert_eq!(
            describe_model(&m),
            "InferenceEndpointConfig ns/x (DeletionInProgress, being deleted)"
        );
        assert_eq!(
            clear_finalizers_cmd(
                "jumpstartmodels.inference.sagemaker.aws.amazon.com",
                Some("default"),
                "m"
            ),
            r#"kubectl patch jumpstartmodels.inference.sagemaker.aws.amazon.com m -n default --type merge -p '{"metadata":{"finalizers":null}}'"#
        );
    }
}
