//! Setup's checks of the cluster side: the kubeconfig entry, namespaces, the ServiceAccounts the
//! installation creates, EKS add-ons and the NVIDIA device plugin.

use serde_json::Value;

use super::steps::SetupInputs;
use crate::error::Result;
use crate::install::documents::{DevicePluginContext, NamespaceContext, ServiceAccountContext};
use crate::install::names::*;
use crate::install::{AddonDef, ServiceAccountDef};
use crate::marks;
use crate::plan::{Action, Check, State, StepEnv};
use crate::tools::eks::{self, AddonArgs, AddonPut};
use crate::tools::kube::{self, str_at};

/// The kubeconfig entry: a context named after the cluster ARN whose server is the cluster's endpoint.
pub(super) fn kubeconfig_check(env: &StepEnv, inp: &SetupInputs) -> Result<Check> {
    let f = inp.target;
    if inp.config.kube.context.is_some() {
        return Ok(Check::satisfied().note("using the context given with --context"));
    }
    let update =
        inp.config
            .update_kubeconfig_cmd(env.ctx, f, inp.config.kube.kubeconfig.as_deref());
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
    let ctx_name = f.context_name();
    // The context alone (the read the run's credential makes too): none when the kubeconfig
    // cannot be read or has no such context.
    let Some(v) = kube::context_view(
        &env.ctx.runner,
        &inp.config.kube.in_context(ctx_name.clone()),
    ) else {
        return Ok(missing);
    };
    if v["contexts"][0]["name"] != ctx_name.as_str() {
        return Ok(missing);
    }
    let server = v["clusters"][0]["cluster"]["server"]
        .as_str()
        .map(str::to_string);
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
pub(super) fn service_account_check(
    env: &StepEnv,
    inp: &SetupInputs,
    def: &ServiceAccountDef,
) -> Result<Check> {
    let sa = def.sa;
    let role_arn = &inp.role_arn(def.role);
    let Some(found) = env.kget("serviceaccount", sa.name, Some(sa.namespace))? else {
        let mut labels = inp.k8s_labels();
        for (k, v) in def.extra_labels {
            labels.insert(k.to_string(), Value::from(*v));
        }
        let mut annotations = inp.k8s_annotations();
        annotations.insert(kube::ROLE_ANNOTATION.into(), role_arn.as_str().into());
        let manifest = ServiceAccountContext {
            name: sa.name,
            namespace: sa.namespace,
            labels,
            annotations,
        }
        .render()?;
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
    if current != Some(role_arn.as_str()) {
        parts.push(annotate_sa(env, sa, role_arn).note(format!(
            "ServiceAccount {}/{} is annotated with {} instead of {role_arn}",
            sa.namespace,
            sa.name,
            current.unwrap_or("no role")
        )));
    }
    // Extra labels (the S3 add-on's) are set on creation only: once the EKS add-on has adopted
    // the ServiceAccount it owns its labels, and insisting on ours would fight it on every run.
    Ok(Check::merge(parts))
}

pub(super) fn annotate_sa(env: &StepEnv, sa: ServiceAccountRef, role_arn: &str) -> Check {
    Check::new(
        State::Drifted,
        vec![Action::new(
            format!("annotate ServiceAccount {} with its role", sa.name),
            kube::annotate_service_account(
                &env.kube,
                format!("annotate ServiceAccount {}/{}", sa.namespace, sa.name),
                (sa.namespace, sa.name),
                (kube::ROLE_ANNOTATION, role_arn),
            ),
        )],
    )
}

pub(super) fn namespaces_check(env: &StepEnv, inp: &SetupInputs) -> Result<Check> {
    let mut parts = vec![Check::satisfied()];
    for ns in inp.install.namespaces().iter().copied() {
        if env.kget("namespace", ns, None)?.is_some() {
            continue;
        }
        let mut labels = inp.k8s_labels();
        let mut annotations = inp.k8s_annotations();
        if ns == OPERATOR_NAMESPACE {
            // The chart templates this namespace; Helm adopts an existing one only with its
            // ownership metadata (otherwise: "invalid ownership metadata").
            labels.insert("app.kubernetes.io/managed-by".into(), "Helm".into());
            let release = inp.install.release();
            annotations.insert("meta.helm.sh/release-name".into(), release.name.into());
            annotations.insert(
                "meta.helm.sh/release-namespace".into(),
                release.namespace.into(),
            );
        }
        let manifest = NamespaceContext {
            name: ns,
            labels,
            annotations,
        }
        .render()?;
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

use crate::install::version_key;

/// An EKS add-on of the installation: created (tagged as ours) if missing; its role, status and
/// (for the add-on method's dependencies) version corrected when they differ.
pub(super) fn addon_check(
    env: &StepEnv,
    inp: &SetupInputs,
    def: &AddonDef,
    role_arn: Option<&str>,
) -> Result<Check> {
    let addon = def.name;
    let aws = &env.ctx.aws;
    let eks = inp.target.eks_cluster.as_str();
    let tags = inp.iam_tags();
    let wait = Action::new(
        format!("wait for {addon} to become ACTIVE"),
        eks::wait_addon_active(
            aws,
            format!("wait for the {addon} add-on to become active"),
            eks,
            addon,
        )
        .timeout(inp.config.wait_timeout),
    );
    let with = AddonArgs {
        role_arn,
        overwrite: true,
        ..AddonArgs::default()
    };
    let create = Check::new(
        State::Missing,
        vec![
            Action::new(
                format!("create add-on {addon}"),
                eks::put_addon(
                    aws,
                    format!("create the {addon} add-on"),
                    AddonPut::Create,
                    eks,
                    addon,
                    &AddonArgs {
                        tags: Some(&tags),
                        ..with
                    },
                ),
            ),
            wait.clone(),
        ],
    );
    let Some(found) = env.describe_addon(eks, addon)? else {
        return Ok(create);
    };
    let status = found.status.as_deref().unwrap_or("UNKNOWN").to_string();
    let current_role = found.service_account_role_arn.as_deref().unwrap_or("");
    let update = Action::new(
        format!("update add-on {addon}"),
        eks::put_addon(
            aws,
            format!("update the {addon} add-on"),
            AddonPut::Update,
            eks,
            addon,
            &with,
        ),
    );
    let have = found.addon_version.as_deref().unwrap_or("");
    if let Some(min) = def
        .min_version
        .filter(|m| version_key(have) < version_key(m))
    {
        let update = Action::new(
            format!("update add-on {addon} to {min}"),
            eks::put_addon(
                aws,
                format!("update the {addon} add-on to {min}"),
                AddonPut::Update,
                eks,
                addon,
                &AddonArgs {
                    version: Some(min),
                    ..with
                },
            ),
        );
        return Ok(Check::new(State::Drifted, vec![update, wait]).note(format!(
            "add-on {addon} is at {have}; the operator add-on needs {min} or later"
        )));
    }
    if let Some(role_arn) = role_arn.filter(|r| *r != current_role) {
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

/// cert-manager for the chart's Certificate and Issuer: the EKS add-on (tagged as ours), unless
/// cert-manager is already installed from elsewhere (its CRDs exist and no add-on of that name
/// does), which is then used as it is.
pub(super) fn cert_manager_check(env: &StepEnv, inp: &SetupInputs) -> Result<Check> {
    let cert_manager = inp
        .install
        .addons()
        .find(|a| a.name == CERT_MANAGER_ADDON)
        .expect("the Helm method has a cert-manager row");
    let using = |by: &str| {
        Check::satisfied().note(format!(
            "cert-manager is already installed ({by}): using it; the chart's own cert-manager stays off"
        ))
    };
    match env.describe_addon(&inp.target.eks_cluster, CERT_MANAGER_ADDON)? {
        Some(a) if a.tags[marks::TAG_MANAGED_BY.0] != marks::TAG_MANAGED_BY.1 => {
            Ok(using("the EKS add-on cert-manager, not setup's"))
        }
        Some(_) => addon_check(env, inp, cert_manager, None),
        None => match foreign_cert_manager(env)? {
            Some(by) => Ok(using(&by)),
            None => addon_check(env, inp, cert_manager, None),
        },
    }
}

/// Who installed cert-manager, when its CRDs are on the cluster and not from setup's release
/// (a Helm release of its own, an operator ...).
fn foreign_cert_manager(env: &StepEnv) -> Result<Option<String>> {
    for crd in CERT_MANAGER_CRDS {
        let Some(obj) = env.kget("customresourcedefinition", crd, None)? else {
            continue;
        };
        if in_setup_release(&obj) {
            return Ok(None);
        }
        return Ok(Some(format!("CRD {crd}, {}", owner_of(&obj))));
    }
    Ok(None)
}

/// Who manages a Kubernetes object, by Helm's ownership annotations or the managed-by label.
pub(crate) fn owner_of(obj: &Value) -> String {
    let release = str_at(obj, "/metadata/annotations/meta.helm.sh~1release-name");
    let release_ns = str_at(obj, "/metadata/annotations/meta.helm.sh~1release-namespace");
    match (release, release_ns) {
        (Some(r), Some(ns)) => format!("Helm release {ns}/{r}"),
        _ => match str_at(obj, "/metadata/labels/app.kubernetes.io~1managed-by") {
            Some("EKS") => "an EKS add-on".into(),
            Some(m) => format!("managed by {m}"),
            None => "installed outside Helm".into(),
        },
    }
}

/// A DaemonSet that already serves `nvidia.com/gpu` and is not ours (HyperPod's `dependencies`
/// release runs NVIDIA's device plugin 0.16.1 on every new cluster): `namespace/name (image)`.
fn foreign_device_plugin(env: &StepEnv) -> Result<Option<String>> {
    if env.offline {
        return Ok(None);
    }
    let list = kube::list_json(
        &env.kube,
        "list the DaemonSets (is an NVIDIA device plugin running?)",
        "daemonsets",
        None,
        None,
    );
    let v: Value = env.ctx.runner.json(&list)?;
    Ok(v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["metadata"]["labels"][marks::LABEL_MANAGED.0] != marks::LABEL_MANAGED.1)
        .find(|d| crate::install::DEVICE_PLUGIN_WORKLOAD.matches(d))
        .map(|d| {
            format!(
                "DaemonSet {}/{} ({})",
                str_at(d, "/metadata/namespace").unwrap_or(""),
                str_at(d, "/metadata/name").unwrap_or(""),
                str_at(d, "/spec/template/spec/containers/0/image").unwrap_or("")
            )
        }))
}

pub(super) fn nvidia_check(env: &StepEnv, inp: &SetupInputs) -> Result<Check> {
    if let Some(other) = foreign_device_plugin(env)? {
        // Two plugins on the same nodes compete for the registration of nvidia.com/gpu.
        return Ok(Check::satisfied().note(format!(
            "an NVIDIA device plugin already serves nvidia.com/gpu ({other}): setup adds no second one"
        )));
    }
    let manifest = DevicePluginContext {
        version: NVIDIA_PLUGIN_VERSION,
        labels: inp.k8s_labels(),
    }
    .render()?;
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
    let Some(found) = env.kget("daemonset", NVIDIA_DAEMONSET, Some("kube-system"))? else {
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
