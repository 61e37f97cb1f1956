//! Teardown's steps in the cluster: the operator's helm release (after the load balancers it
//! holds), the EKS add-ons, the device plugin, ServiceAccounts and namespaces.

use serde_json::Value;

use super::owned::{self, Owner};
use super::steps::{absent, kept, kept_note, ns_name, TeardownInputs, KEEP_MODELS};
use crate::deploy::kind::ModelKind;
use crate::error::{Error, Result};
use crate::install::names::*;
use crate::plan::{Action, Check, State, StepEnv};
use crate::tools::helm;
use crate::tools::kube::{self, Deletion};

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

pub(super) fn operator_check(env: &StepEnv, inp: &TeardownInputs) -> Result<Check> {
    let what = format!("helm release {HELM_RELEASE}");
    if helm::release(&env.kube, &env.ctx.runner, HELM_RELEASE, HELM_NAMESPACE)?.is_none() {
        return Ok(absent());
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
                    kube::wait_deleted(
                        &env.kube,
                        format!("wait until {kind} {ns}/{name} is gone"),
                        res,
                        (&ns, &name),
                        inp.config.wait_timeout,
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
    actions.push(Action::new(
        format!("helm uninstall {HELM_RELEASE}"),
        helm::uninstall(
            &env.kube,
            "uninstall the inference operator chart",
            HELM_RELEASE,
            HELM_NAMESPACE,
            inp.config.wait_timeout,
        )
        .timeout(inp.cmd_timeout()),
    ));
    let kept_crds = kept_crds(env)?;
    if !kept_crds.is_empty() {
        let names: Vec<String> = kept_crds.iter().map(|c| ns_name(c).1).collect();
        let users = crd_users(env, &kept_crds)?;
        if users.is_empty() {
            notes.push(format!(
                "{} stay after the uninstall (their chart marks them helm.sh/resource-policy: keep); no object uses them, so they are deleted after it",
                names.join(", ")
            ));
            let crds: Vec<&str> = names.iter().map(String::as_str).collect();
            actions.push(Action::new(
                "delete the CRDs the chart keeps on uninstall",
                kube::delete(
                    &env.kube,
                    "delete the CRDs the operator chart keeps on uninstall",
                    kube::CRD_RESOURCE,
                    &crds,
                    None,
                    Deletion {
                        timeout: Some(inp.config.wait_timeout),
                        ..Deletion::IF_ANY
                    },
                )
                .timeout(inp.cmd_timeout()),
            ));
        } else {
            notes.push(kept_note(
                &names.join(", "),
                &format!(
                    "their chart keeps them on uninstall (helm.sh/resource-policy: keep) and they still hold {}",
                    users.join(", ")
                ),
            ));
        }
    }
    let mut c = Check::new(State::Present, actions);
    c.notes = notes;
    Ok(c.note("the chart's other CRDs go with it (the chart renders them as templates)"))
}

/// The CRDs the release installed with `helm.sh/resource-policy: keep` (cert-manager's):
/// `helm uninstall` leaves them behind.
fn kept_crds(env: &StepEnv) -> Result<Vec<Value>> {
    let selector = format!("app.kubernetes.io/instance={HELM_RELEASE}");
    Ok(env
        .kube
        .list(
            &env.ctx.runner,
            "customresourcedefinitions.apiextensions.k8s.io",
            None,
            Some(&selector),
        )?
        .into_iter()
        .filter(|c| {
            c["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep" && in_setup_release(c)
        })
        .collect())
}

/// The cert-manager add-on setup created for the chart: deleted like the other add-ons, unless
/// cert-manager objects other than the release's (which the uninstall removes) still use it:
/// deleting the add-on deletes its CRDs, and with them those objects.
pub(super) fn cert_manager_addon_check(env: &StepEnv, inp: &TeardownInputs) -> Result<Check> {
    let check = addon_check(env, inp, CERT_MANAGER_ADDON)?;
    if check.state != State::Present {
        return Ok(check);
    }
    let users = kind_users(
        env,
        &[
            "certificates.cert-manager.io".into(),
            "issuers.cert-manager.io".into(),
            "clusterissuers.cert-manager.io".into(),
        ],
    )?;
    if users.is_empty() {
        return Ok(check);
    }
    Ok(kept(
        &format!("EKS add-on {CERT_MANAGER_ADDON}"),
        &format!(
            "setup created it, but deleting it deletes cert-manager's CRDs and they still hold {}",
            users.join(", ")
        ),
    ))
}

/// Objects of those CRDs that the uninstall does not remove (`Kind ns/name`): deleting a CRD
/// deletes every one of them.
fn crd_users(env: &StepEnv, crds: &[Value]) -> Result<Vec<String>> {
    let kinds: Vec<String> = crds
        .iter()
        .filter_map(|c| {
            let plural = c["spec"]["names"]["plural"].as_str()?;
            let group = c["spec"]["group"].as_str()?;
            Some(format!("{plural}.{group}"))
        })
        .collect();
    kind_users(env, &kinds)
}

/// Objects of these kinds (`plural.group`) that are not the release's: `Kind ns/name`.
fn kind_users(env: &StepEnv, kinds: &[String]) -> Result<Vec<String>> {
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    Ok(env
        .kube
        .list(&env.ctx.runner, &kinds.join(","), None, None)?
        .iter()
        .filter(|o| o["metadata"]["annotations"]["meta.helm.sh/release-name"] != HELM_RELEASE)
        .map(|o| {
            let (ns, name) = ns_name(o);
            format!("{} {ns}/{name}", o["kind"].as_str().unwrap_or("object"))
        })
        .collect())
}

/// The release is setup's when it carries setup's release label (`helm --labels`), or when its
/// namespace is the one setup created for the chart to adopt (setup's marks on it), or — that
/// namespace gone — when it runs the operator as the role setup created.
fn release_owner(env: &StepEnv, inp: &TeardownInputs) -> Result<Owner> {
    // Helm keeps a release's labels on its storage object, where `helm list --selector` finds
    // them (`helm get metadata -o json` does not print them).
    let selector = format!(
        "{}={}",
        crate::marks::LABEL_MANAGED.0,
        crate::marks::LABEL_MANAGED.1
    );
    let labelled: Vec<Value> = env.ctx.runner.json(&helm::list_labelled(
        &env.kube,
        "look for setup's label on the operator release",
        HELM_RELEASE,
        HELM_NAMESPACE,
        &selector,
    ))?;
    if !labelled.is_empty() {
        return Ok(Owner::Ours);
    }
    if let Some(ns) = env
        .kube
        .get(&env.ctx.runner, "namespace", OPERATOR_NAMESPACE, None)?
    {
        return Ok(owned::k8s(&ns, inp.cluster()));
    }
    // The namespace is gone (an uninstall that stopped half-way): the release is setup's when
    // it runs the operator as setup's role.
    let values = helm::get_values(
        &env.kube,
        "read the operator release's values",
        HELM_RELEASE,
        HELM_NAMESPACE,
    );
    let v: Value = env.ctx.runner.json(&values)?;
    let role = inp.names.operator_role.name.as_str();
    if v["executionRoleArn"] != inp.role_arn(role).as_str() {
        return Ok(Owner::NotOurs);
    }
    Ok(env
        .get_role(role)?
        .map(|r| owned::iam(&r.tags_json(), inp.cluster()))
        .unwrap_or(Owner::NotOurs))
}

pub(super) fn addon_check(env: &StepEnv, inp: &TeardownInputs, addon: &str) -> Result<Check> {
    let aws = &env.ctx.aws;
    let eks = inp.target.eks_cluster.as_str();
    let what = format!("EKS add-on {addon}");
    let Some(found) = env.describe_addon(eks, addon)? else {
        return Ok(absent());
    };
    let owner = owned::addon(&found.tags, inp.cluster());
    if !owner.is_ours() {
        return Ok(kept(&what, &owner.reason()));
    }
    if inp.keeps_operator() {
        return Ok(kept(&what, KEEP_MODELS));
    }
    let mut actions = Vec::new();
    if found.status.as_deref() != Some("DELETING") {
        actions.push(Action::new(
            format!("delete add-on {addon}"),
            crate::tools::eks::delete_addon(
                aws,
                format!("delete the {addon} add-on"),
                eks,
                addon,
                false,
            ),
        ));
    }
    actions.push(Action::new(
        format!("wait until {addon} is deleted"),
        crate::tools::eks::wait_addon_deleted(
            aws,
            format!("wait until the {addon} add-on is deleted"),
            eks,
            addon,
        )
        .timeout(inp.config.wait_timeout),
    ));
    Ok(Check::new(State::Present, actions).note(format!(
        "{what}: the objects it installed in the cluster go with it"
    )))
}

fn delete_k8s(
    env: &StepEnv,
    inp: &TeardownInputs,
    kind: &str,
    name: &str,
    ns: Option<&str>,
) -> Action {
    let what = match ns {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    };
    Action::new(
        format!("delete {what}"),
        kube::delete(
            &env.kube,
            format!("delete {what}"),
            kind,
            &[name],
            ns,
            Deletion {
                if_any: true,
                ..Deletion::waited(inp.config.wait_timeout)
            },
        )
        .timeout(inp.cmd_timeout()),
    )
}

pub(super) fn nvidia_check(env: &StepEnv, inp: &TeardownInputs) -> Result<Check> {
    let what = format!("DaemonSet kube-system/{NVIDIA_DAEMONSET}");
    let Some(ds) = env.kube.get(
        &env.ctx.runner,
        "daemonset",
        NVIDIA_DAEMONSET,
        Some("kube-system"),
    )?
    else {
        return Ok(absent());
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

pub(super) fn service_account_check(
    env: &StepEnv,
    inp: &TeardownInputs,
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
        return Ok(absent());
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
            "{what} belongs to the EKS add-on {addon} (its labels say so): it goes when the add-on is deleted"
        )));
    }
    Ok(kept(&what, &owner.reason()))
}

/// Workloads in a namespace that neither setup, the operator's release nor an EKS add-on put
/// there (deleting the namespace would delete them).
fn foreign_workloads(env: &StepEnv, inp: &TeardownInputs, ns: &str) -> Result<Vec<String>> {
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

pub(super) fn namespaces_check(env: &StepEnv, inp: &TeardownInputs) -> Result<Check> {
    let mut parts = Vec::new();
    for ns in ["keda", "cert-manager", OPERATOR_NAMESPACE] {
        let what = format!("namespace {ns}");
        let Some(found) = env.kube.get(&env.ctx.runner, "namespace", ns, None)? else {
            parts.push(absent());
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
