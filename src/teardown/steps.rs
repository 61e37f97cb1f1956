//! The step graph of teardown (setup in reverse dependency order) and its first step, the model
//! resources. Each check says whether its thing is `absent`, `keep` (left in place; the note says
//! why), `remove` (with the exact commands) or `blocked` (a real run refuses).

use std::time::Duration;

use serde_json::Value;

use super::{cluster, iam, ModelPolicy, TeardownConfig};
use crate::deploy::kind::ModelKind;
use crate::error::{Error, Result};
use crate::install::names::*;
use crate::install::target::Target;
use crate::install::{policy_defs, role_defs, Managed, Method, RoleDef};
use crate::plan::{Action, Check, State, StepDef, StepEnv};
use crate::tools::kube::{self, str_at, Deletion};

/// Everything the steps need, borrowed for the life of a plan and its execution.
pub(crate) struct TeardownInputs<'a> {
    pub config: &'a TeardownConfig,
    pub names: &'a Names,
    /// The add-on method's names (its execution, ALB and KEDA roles differ from the Helm ones).
    pub addon_names: &'a Names,
    pub target: &'a Target,
    /// The model resources found before planning (every namespace).
    pub models: &'a [Value],
}

impl TeardownInputs<'_> {
    pub(super) fn cluster(&self) -> &str {
        &self.config.hyperpod_cluster
    }

    /// With `--keep-models` and model resources present, the operator and everything it runs
    /// on stay: removing any of it would orphan the models or leak their load balancers.
    pub(crate) fn keeps_operator(&self) -> bool {
        self.config.models == ModelPolicy::Keep
            && self.models.iter().any(|m| !is_setup_test_model(m))
    }

    /// The deadline of a command that waits: the wait's own deadline plus a margin.
    pub(super) fn cmd_timeout(&self) -> Duration {
        self.config.wait_timeout + Duration::from_secs(60)
    }

    /// Every role setup may have made, by either install method, with its name: the Helm
    /// method's, then the add-on method's own (its other roles are the Helm ones).
    pub(crate) fn all_roles(&self) -> Vec<(&'static RoleDef, &str)> {
        let helm = role_defs(Method::Helm);
        let mut out: Vec<(&'static RoleDef, &str)> = helm
            .iter()
            .map(|r| (r, self.names.role(r.id).name.as_str()))
            .collect();
        for r in role_defs(Method::Addon) {
            if !helm.iter().any(|h| h.step == r.step) {
                out.push((r, self.addon_names.role(r.id).name.as_str()));
            }
        }
        out
    }

    pub(super) fn role_arn(&self, name: &str) -> String {
        format!("arn:aws:iam::{}:role/{name}", self.target.account)
    }

    pub(super) fn policy_arn(&self, name: &str) -> String {
        format!("arn:aws:iam::{}:policy/{name}", self.target.account)
    }
}

/// A note recording something left in place, and why. Notes starting with `kept: ` are listed
/// in the result under "left in place".
pub(crate) fn kept_note(what: &str, why: &str) -> String {
    format!("kept: {what}: {why}")
}

pub(super) fn kept(what: &str, why: &str) -> Check {
    Check::new(State::Kept, vec![]).note(kept_note(what, why))
}

/// Nothing there: the state says it all (the step's title names the thing).
pub(super) fn absent() -> Check {
    Check::new(State::Absent, vec![])
}

pub(super) const KEEP_MODELS: &str =
    "model resources remain (--keep-models) and the operator needs it to manage them";

/// The test model setup creates (and removes) itself: removed without `--delete-models`.
pub(crate) fn is_setup_test_model(m: &Value) -> bool {
    m["kind"] == "JumpStartModel"
        && m["metadata"]["name"] == TEST_MODEL_NAME
        && m["metadata"]["namespace"] == "default"
        && m["metadata"]["labels"][crate::marks::LABEL_MANAGED.0] == crate::marks::LABEL_MANAGED.1
}

/// Every JumpStartModel and InferenceEndpointConfig in every namespace (none when the CRDs
/// are not installed).
pub(crate) fn list_models(env: &StepEnv) -> Result<Vec<Value>> {
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

pub(super) fn model_kind(m: &Value) -> ModelKind {
    m["kind"]
        .as_str()
        .and_then(ModelKind::from_kind)
        .unwrap_or(ModelKind::JumpStartModel)
}

pub(super) fn ns_name(m: &Value) -> (String, String) {
    (
        m["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string(),
        m["metadata"]["name"].as_str().unwrap_or("").to_string(),
    )
}

/// `JumpStartModel default/x (DeploymentComplete)`.
pub(crate) fn describe_model(m: &Value) -> String {
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
pub(crate) fn clear_finalizers_cmd(resource: &str, ns: Option<&str>, name: &str) -> String {
    let ns = ns.map(|n| format!(" -n {n}")).unwrap_or_default();
    format!(
        "kubectl patch {resource} {name}{ns} --type merge -p '{{\"metadata\":{{\"finalizers\":null}}}}'"
    )
}

/// The step graph, in the order of the issue: models, operator, add-ons, device plugin,
/// ServiceAccounts, namespaces, IAM roles, policies, OIDC provider.
pub(crate) fn all<'a>(inp: &'a TeardownInputs<'a>) -> Vec<StepDef<'a>> {
    let c = inp.config;
    let n = inp.names;
    let f = inp.target;
    let mut steps = vec![f.resolve_step(
        "resolve the EKS cluster, account and OIDC issuer",
        &c.hyperpod_cluster,
        vec![
            format!("account {}, region {}", f.account, c.region),
            format!("kube context {}", f.context),
        ],
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
        move |env| cluster::operator_check(env, inp),
    ));
    // The operator as the EKS add-on (setup --method addon): only one tagged as setup's goes,
    // and with it what it installed (deleted without --preserve).
    steps.push(StepDef::new(
        "operator-addon",
        format!("EKS add-on {OPERATOR_ADDON} (operator, CRDs, load balancer controller, KEDA)"),
        &["models"],
        move |env| cluster::addon_check(env, inp, OPERATOR_ADDON),
    ));
    // The operator's dependencies go after either operator.
    const AFTER_OPERATOR: &[&str] = &["inference-operator", "operator-addon"];
    let dependency = |id, addon: &'static str| {
        StepDef::new(
            id,
            format!("EKS add-on {addon}"),
            AFTER_OPERATOR,
            move |env| cluster::addon_check(env, inp, addon),
        )
    };
    steps.push(dependency("s3-csi-addon", S3_CSI_ADDON));
    steps.push(dependency("fsx-csi-addon", FSX_CSI_ADDON));
    // After the release: its Certificate and Issuer are cert-manager objects, which Helm
    // deletes through cert-manager's API. Only an add-on tagged as setup's goes.
    steps.push(StepDef::new(
        "cert-manager-addon",
        format!("EKS add-on {CERT_MANAGER_ADDON}"),
        AFTER_OPERATOR,
        move |env| cluster::cert_manager_addon_check(env, inp),
    ));
    steps.push(dependency("metrics-server-addon", METRICS_SERVER_ADDON));
    steps.push(StepDef::new(
        "nvidia-device-plugin",
        format!("DaemonSet kube-system/{NVIDIA_DAEMONSET}"),
        &["models"],
        move |env| cluster::nvidia_check(env, inp),
    ));
    steps.push(StepDef::new(
        "alb-service-account",
        format!("ServiceAccount {}/{}", ALB_SA.namespace, ALB_SA.name),
        &["inference-operator"],
        move |env| cluster::service_account_check(env, inp, ALB_SA, None),
    ));
    steps.push(StepDef::new(
        "s3-service-account",
        format!("ServiceAccount {}/{}", S3_CSI_SA.namespace, S3_CSI_SA.name),
        &["s3-csi-addon"],
        move |env| cluster::service_account_check(env, inp, S3_CSI_SA, Some(S3_CSI_ADDON)),
    ));
    steps.push(StepDef::new(
        "namespaces",
        format!("namespaces keda, cert-manager, {OPERATOR_NAMESPACE}"),
        &[
            "inference-operator",
            "alb-service-account",
            "s3-service-account",
        ],
        move |env| cluster::namespaces_check(env, inp),
    ));
    // IAM goes last among the things the cluster uses: a failure in the cluster leaves every
    // role in place, so whatever still runs keeps its permissions until a re-run.
    // (`namespaces` itself comes after the operator, both ServiceAccounts and so the S3 add-on.)
    const AFTER_CLUSTER: &[&str] = &[
        "namespaces",
        "fsx-csi-addon",
        "cert-manager-addon",
        "metrics-server-addon",
        "nvidia-device-plugin",
    ];
    // Every role and policy setup may have made (whatever flags and method it ran with), from
    // the installation model; each policy after the role that attaches it.
    let roles = inp.all_roles();
    for (role, name) in roles.iter().copied() {
        steps.push(StepDef::new(
            role.step,
            format!("{} {name}", role.what),
            AFTER_CLUSTER,
            move |env| iam::role_check(env, inp, name),
        ));
    }
    for policy in policy_defs(Method::Helm) {
        let name = n.policy(policy.id).name.as_str();
        let after: Vec<&'static str> = roles
            .iter()
            .map(|(r, _)| *r)
            .filter(|r| r.managed.contains(&Managed::Ours(policy.id)))
            .map(|r| r.step)
            .collect();
        steps.push(StepDef::new(
            policy.step,
            format!("{} {name}", policy.what),
            &after,
            move |env| iam::policy_check(env, inp, name),
        ));
    }
    let iam_steps: Vec<&'static str> = policy_defs(Method::Helm)
        .iter()
        .map(|p| p.step)
        .chain(roles.iter().map(|(r, _)| r.step))
        .collect();
    steps.push(StepDef::new(
        "oidc-provider",
        "IAM OIDC identity provider of the cluster",
        &iam_steps,
        move |env| iam::oidc_check(env, inp),
    ));
    steps
}

// ---------------------------------------------------------------------------------------------
// Kubernetes

fn models_check(env: &StepEnv, inp: &TeardownInputs) -> Result<Check> {
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
                kube::delete(
                    k,
                    format!("delete {what}"),
                    kind.resource(),
                    &[&name],
                    Some(&ns),
                    Deletion {
                        if_any: true,
                        ..Deletion::ASK
                    },
                ),
            ));
        }
        waits.push(Action::new(
            format!("wait until the operator has released {what}"),
            kube::wait_deleted(
                k,
                format!("wait until the operator has released {what} (its finalizers gone)"),
                kind.resource(),
                (&ns, &name),
                inp.config.wait_timeout,
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
        assert_eq!(st(vec![absent(), absent()]), State::Absent);
        assert_eq!(st(vec![absent(), kept("b", "why")]), State::Kept);
        let remove = || Check::new(State::Present, vec![]);
        assert_eq!(
            st(vec![kept("b", "why"), remove(), absent()]),
            State::Present
        );
        let blocked = Check::new(State::Blocked, vec![]);
        assert_eq!(st(vec![remove(), blocked]), State::Blocked);
        let notes = Check::merge(vec![kept("namespace keda", "--keep-models"), absent()]).notes;
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
