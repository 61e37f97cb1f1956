//! The placement check, before a model is created: its instance type (or one of its
//! `instanceTypes`) must be one of the HyperPod cluster's instance groups (`sagemaker
//! describe-cluster`), for a JumpStart model one the model supports (`sagemaker
//! describe-hub-content`: the public hub, or the model's `modelHubName`), and one the cluster
//! has a schedulable node of, with enough allocatable GPUs for one replica. Otherwise the
//! operator accepts the model and it waits, unplaceable, until its deadline. Read from the
//! resource as it will be applied (flags, `--values`, `--set` or `-f`); the reads run in
//! parallel, one each. An S3-sourced custom model's bucket is checked too (`bucket_access`).
//! Skipped with `--skip-placement-check`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::kind::ModelKind;
use super::model::{node_gpus, node_instance_type, Model};
use crate::error::{Error, Result};
use crate::exec::Cmd;
use crate::install::names::OPERATOR_NAMESPACE;
use crate::tools::aws;
use crate::tools::kube::{str_at, KubeOpts};
use crate::tools::sagemaker::{self, HyperPodCluster, InstanceGroup};
use crate::Ctx;

/// What the cluster offers of one instance type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NodeType {
    pub instance_type: String,
    /// Ready nodes HyperPod calls Schedulable (or that carry no HyperPod health label).
    pub schedulable: usize,
    /// Nodes of the type that are not (unhealthy, cordoned, not Ready).
    pub unschedulable: usize,
    /// The most allocatable `nvidia.com/gpu` on one schedulable node.
    pub gpus: i64,
}

/// The cluster's instance types, from `kubectl get nodes -o json`'s items.
pub(crate) fn node_types(nodes: &[Value]) -> Vec<NodeType> {
    let mut by_type: BTreeMap<String, NodeType> = BTreeMap::new();
    for n in nodes {
        let Some(t) = node_instance_type(n) else {
            continue;
        };
        let e = by_type.entry(t.to_string()).or_insert_with(|| NodeType {
            instance_type: t.to_string(),
            ..Default::default()
        });
        let health = str_at(
            n,
            "/metadata/labels/sagemaker.amazonaws.com~1node-health-status",
        );
        let ready = n["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        });
        let cordoned = n["spec"]["unschedulable"] == true;
        if ready && !cordoned && health.is_none_or(|h| h == "Schedulable") {
            e.schedulable += 1;
            let gpus = node_gpus(n);
            e.gpus = e.gpus.max(gpus);
        } else {
            e.unschedulable += 1;
        }
    }
    by_type.into_values().collect()
}

/// The public JumpStart hub: where `describe-hub-content` looks unless the model names its own.
pub(crate) const PUBLIC_HUB: &str = "SageMakerPublicHub";

/// The instance types a JumpStart model can be hosted on (its hub content document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModelTypes {
    pub model_id: String,
    pub hub: String,
    pub supported: Vec<String>,
}

/// What the placement check knows of the cluster and the model; `None` = not known (skipped).
#[derive(Debug, Clone, Default)]
pub(crate) struct Known {
    pub nodes: Vec<NodeType>,
    /// The HyperPod cluster and its instance groups' types.
    pub groups: Option<(String, Vec<String>)>,
    pub model: Option<ModelTypes>,
}

/// `SupportedInferenceInstanceTypes` of a `describe-hub-content` answer, whose
/// `HubContentDocument` is a JSON document in a string.
pub(crate) fn hub_supported_types(answer: &Value) -> std::result::Result<Vec<String>, String> {
    let doc = answer["HubContentDocument"]
        .as_str()
        .ok_or("no HubContentDocument string")?;
    let doc: Value =
        serde_json::from_str(doc).map_err(|e| format!("HubContentDocument is not JSON: {e}"))?;
    let types = doc["SupportedInferenceInstanceTypes"]
        .as_array()
        .ok_or("HubContentDocument has no SupportedInferenceInstanceTypes list")?;
    Ok(types
        .iter()
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect())
}

/// The instance types of a HyperPod cluster's instance groups, sorted, once each.
pub(crate) fn group_types(groups: &[InstanceGroup]) -> Vec<String> {
    let mut t: Vec<String> = groups
        .iter()
        .filter_map(|g| g.instance_type.clone())
        .collect();
    t.sort();
    t.dedup();
    t
}

/// Whether one replica of `kind`/`resource` can be placed, given what is known; the error lists
/// the choices. `flag` names what the user set (`--instance-type`, or the file).
#[cfg(test)]
pub(crate) fn judge(kind: ModelKind, resource: &Value, facts: &Known, flag: &str) -> Result<()> {
    judge_with(kind, resource, facts, flag, SKIP_HINT)
}

/// The way out `judge`'s error names for `deploy`.
pub(crate) const SKIP_HINT: &str = "or pass --skip-placement-check if nodes are on their way";

/// [`judge`], with the way out of the caller (setup's test model has its own).
pub(crate) fn judge_with(
    kind: ModelKind,
    resource: &Value,
    facts: &Known,
    flag: &str,
    skip_hint: &str,
) -> Result<()> {
    let model = Model::read_as(kind, resource);
    let (want, gpus) = (model.instance_types, model.gpus);
    if want.is_empty() {
        return Ok(());
    }
    let types = &facts.nodes;
    let fits = |t: &NodeType| t.schedulable > 0 && t.gpus >= gpus;
    let in_groups = |w: &String| facts.groups.as_ref().is_none_or(|(_, g)| g.contains(w));
    let supported = |w: &String| facts.model.as_ref().is_none_or(|m| m.supported.contains(w));
    let placeable = |w: &String| {
        in_groups(w) && supported(w) && types.iter().any(|t| &t.instance_type == w && fits(t))
    };
    if want.iter().any(placeable) {
        return Ok(());
    }
    let mut why: Vec<String> = Vec::new();
    for w in &want {
        if let Some((cluster, _)) = facts.groups.as_ref().filter(|_| !in_groups(w)) {
            why.push(format!(
                "{w}: not an instance group of HyperPod cluster {cluster}"
            ));
        }
        if let Some(m) = facts.model.as_ref().filter(|_| !supported(w)) {
            why.push(format!(
                "{w}: JumpStart model {} does not support it",
                m.model_id
            ));
        }
        match types.iter().find(|t| &t.instance_type == w) {
            None => why.push(format!("{w}: the cluster has no node of that type")),
            Some(t) if t.schedulable == 0 => why.push(format!(
                "{w}: none of its {} node(s) is schedulable (unhealthy, cordoned or not Ready)",
                t.unschedulable
            )),
            Some(t) if t.gpus < gpus => why.push(format!(
                "{w}: one replica needs {gpus} GPU(s), its nodes have at most {}",
                t.gpus
            )),
            Some(_) => {}
        }
    }
    let mut lists = Vec::new();
    if let Some((cluster, g)) = &facts.groups {
        lists.push(format!(
            "HyperPod cluster {cluster}'s instance groups are {}",
            or_none(g)
        ));
    }
    if let Some(m) = &facts.model {
        lists.push(format!("{} supports {}", m.model_id, or_none(&m.supported)));
    }
    let choices: Vec<String> = types
        .iter()
        .filter(|t| fits(t) && in_groups(&t.instance_type) && supported(&t.instance_type))
        .map(|t| {
            let gpu = match t.gpus {
                0 => "no GPU".to_string(),
                n => format!("{n} GPU(s) per node"),
            };
            format!("{} ({} node(s), {gpu})", t.instance_type, t.schedulable)
        })
        .collect();
    lists.push(if choices.is_empty() {
        "the cluster has no schedulable node that fits".to_string()
    } else {
        format!("the cluster can place it on {}", choices.join(", "))
    });
    Err(Error::invalid(
        flag,
        format!("{}; {} ({skip_hint})", why.join("; "), lists.join("; ")),
    ))
}

fn or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// What to check a resource against.
#[derive(Debug, Clone, Default)]
pub(crate) struct PlacementRequest {
    /// The HyperPod cluster whose instance groups count; `None`: the one setup recorded on the
    /// cluster (namespace `hyperpod-inference-system`'s annotation), else that part is skipped.
    pub hyperpod_cluster: Option<String>,
    /// What the user set the instance type with, for the error.
    pub flag: String,
    /// The way out the error names [default: `SKIP_HINT`, deploy's].
    pub skip_hint: Option<String>,
    /// That cluster as the run already read it (setup's [`crate::install::target::Target`]):
    /// not described again.
    pub known: Option<HyperPodCluster>,
}

/// What the check could not look at, for the user (e.g. no HyperPod cluster known).
pub(crate) type Notes = Vec<String>;

/// Reads what the check needs (nodes; the recorded HyperPod cluster; the model's hub content;
/// the S3 CSI driver's ServiceAccount for an S3 model, all at once; then the cluster's instance
/// groups and the role's policies) and judges the resource. Returns notes on skipped parts.
/// `kube`: the cluster to read (deploy's is `ctx.kube`; setup may read through a temporary
/// kubeconfig).
pub(crate) fn check(
    ctx: &Ctx,
    kube: &KubeOpts,
    kind: ModelKind,
    resource: &Value,
    req: &PlacementRequest,
) -> Result<Notes> {
    let mut notes = Notes::new();
    let model = Model::read_as(kind, resource);
    let js_model = match kind {
        ModelKind::JumpStartModel => model.model.as_ref().map(|id| {
            let hub = model.hub.as_deref().unwrap_or(PUBLIC_HUB);
            (id.clone(), hub.to_string())
        }),
        ModelKind::InferenceEndpointConfig => None,
    };
    let bucket = super::bucket_access::model_bucket(&model);
    let (nodes, recorded, hub, sa) = std::thread::scope(|s| {
        let nodes = s.spawn(|| kube.list(&ctx.runner, "nodes", None, None));
        let recorded = s.spawn(|| match &req.hyperpod_cluster {
            Some(_) => Ok(None),
            None => recorded_cluster(ctx, kube),
        });
        let hub = s.spawn(|| {
            js_model
                .as_ref()
                .map(|(id, hub)| hub_content(ctx, id, hub))
                .transpose()
        });
        let sa = s.spawn(|| {
            bucket
                .as_ref()
                .map(|_| super::bucket_access::csi_service_account(ctx, kube))
                .transpose()
        });
        (join(nodes), join(recorded), join(hub), join(sa))
    });
    let nodes = nodes?;
    let cluster = req.hyperpod_cluster.clone().or(recorded?);
    let model = match hub?.flatten() {
        Some(Ok(m)) => Some(m),
        Some(Err(note)) => {
            notes.push(note);
            None
        }
        None => None,
    };
    let sa = sa?.flatten();
    let (described, access) = std::thread::scope(|s| {
        let described = s.spawn(|| {
            cluster
                .as_deref()
                .map(|c| match &req.known {
                    Some(k) if k.cluster_name == c => Ok(Ok(k.clone())),
                    _ => describe_cluster(ctx, c),
                })
                .transpose()
        });
        let access = s.spawn(|| {
            bucket
                .as_ref()
                .map(|b| super::bucket_access::role_can_read(ctx, sa.as_ref(), b))
                .transpose()
        });
        (join(described), join(access))
    });
    let described = match described? {
        Some(Err(note)) => {
            notes.push(note);
            None
        }
        Some(Ok(d)) => Some(d),
        None => None,
    };
    let eks_cluster = described
        .as_ref()
        .and_then(|d| d.eks_cluster_name())
        .map(str::to_string);
    let groups = match (cluster, described) {
        (Some(c), Some(hp)) => Some((c.clone(), group_types(&hp.instance_groups))),
        (Some(_), None) => None,
        (None, _) => {
            notes.push(
                "the HyperPod cluster's instance groups were not checked: give --hyperpod-cluster \
                 (or run setup, which records it on the cluster)"
                    .into(),
            );
            None
        }
    };
    let facts = Known {
        nodes: node_types(&nodes),
        groups,
        model,
    };
    judge_with(
        kind,
        resource,
        &facts,
        &req.flag,
        req.skip_hint.as_deref().unwrap_or(SKIP_HINT),
    )?;
    if let (Some(b), Some(verdict)) = (&bucket, access?) {
        notes.extend(super::bucket_access::judge(
            ctx,
            kube,
            b,
            verdict,
            facts.groups.as_ref().map(|g| g.0.as_str()),
            eks_cluster.as_deref(),
        )?);
    }
    Ok(notes)
}

fn join<T>(h: std::thread::ScopedJoinHandle<'_, Result<T>>) -> Result<T> {
    h.join()
        .unwrap_or_else(|_| Err(Error::failed("a placement read panicked", None)))
}

/// The HyperPod cluster setup recorded on the namespace it created (Helm method).
fn recorded_cluster(ctx: &Ctx, kube: &KubeOpts) -> Result<Option<String>> {
    let ns = kube.get(&ctx.runner, "namespace", OPERATOR_NAMESPACE, None)?;
    Ok(ns.and_then(|n| {
        n["metadata"]["annotations"][crate::marks::ANNOTATION_CLUSTER]
            .as_str()
            .map(str::to_string)
    }))
}

/// A read whose refusal (no permission) is a note, not a failure: the check is skipped, said.
fn read_or_note<T: serde::de::DeserializeOwned>(
    ctx: &Ctx,
    cmd: &Cmd,
) -> Result<std::result::Result<Option<T>, String>> {
    let out = ctx.runner.run_unchecked(cmd)?;
    if out.success() {
        return crate::exec::parse_json(cmd, &out.stdout).map(|v| Ok(Some(v)));
    }
    if aws::is_not_found(&out) {
        return Ok(Ok(None));
    }
    match aws::error_code(&out.stderr) {
        Some(code) if code.contains("AccessDenied") || code.contains("Unauthorized") => Ok(Err(
            format!("could not {} ({code}): not checked", cmd.purpose),
        )),
        _ => Err(crate::exec::command_error(cmd, &out)),
    }
}

fn describe_cluster(ctx: &Ctx, name: &str) -> Result<std::result::Result<HyperPodCluster, String>> {
    let cmd = sagemaker::describe_cluster(
        &ctx.aws,
        format!("read HyperPod cluster {name}'s instance groups"),
        name,
    )
    // Setup resolved the cluster with the same read.
    .reusable();
    match read_or_note(ctx, &cmd)? {
        Err(note) => Ok(Err(note)),
        Ok(Some(v)) => Ok(Ok(v)),
        Ok(None) => Err(Error::invalid(
            "--hyperpod-cluster",
            format!(
                "there is no HyperPod cluster {name} in region {}",
                ctx.aws
                    .region
                    .as_deref()
                    .unwrap_or("(the AWS CLI's default)")
            ),
        )),
    }
}

/// The model's supported instance types; `Err(note)` when the hub answers but not usefully
/// (a private hub that holds the model as a reference, a document without the list).
fn hub_content(
    ctx: &Ctx,
    model_id: &str,
    hub: &str,
) -> Result<Option<std::result::Result<ModelTypes, String>>> {
    let cmd = sagemaker::describe_hub_content(&ctx.aws, hub, model_id);
    let answer = match read_or_note::<Value>(ctx, &cmd)? {
        Err(note) => return Ok(Some(Err(note))),
        Ok(answer) => answer,
    };
    let Some(answer) = answer else {
        if hub != PUBLIC_HUB {
            // A private hub may hold the model as a reference to the public one.
            return Ok(Some(Err(format!(
                "hub {hub} has no Model {model_id}: its supported instance types were not checked"
            ))));
        }
        return Err(Error::invalid(
            "--model-id",
            format!(
                "SageMaker JumpStart's public hub has no model {model_id} in region {} \
                 (or pass --skip-placement-check)",
                ctx.aws
                    .region
                    .as_deref()
                    .unwrap_or("(the AWS CLI's default)")
            ),
        ));
    };
    Ok(Some(match hub_supported_types(&answer) {
        Ok(supported) if !supported.is_empty() => Ok(ModelTypes {
            model_id: model_id.to_string(),
            hub: hub.to_string(),
            supported,
        }),
        Ok(_) => Err(format!(
            "{model_id}'s hub content lists no supported instance types: not checked"
        )),
        Err(e) => Err(format!(
            "{model_id}'s supported instance types were not checked: {e}"
        )),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Asserts that the message `m` says each of `parts`.
    fn says(m: &str, parts: &[&str]) {
        for p in parts {
            assert!(m.contains(p), "{p:?} is not in: {m}");
        }
    }

    fn node(t: &str, gpus: Option<&str>, health: &str, ready: bool) -> Value {
        let mut alloc = json!({"cpu": "8"});
        if let Some(g) = gpus {
            alloc["nvidia.com/gpu"] = json!(g);
        }
        json!({
            "metadata": {"labels": {
                "node.kubernetes.io/instance-type": t,
                "sagemaker.amazonaws.com/node-health-status": health,
            }},
            "status": {"allocatable": alloc, "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]},
        })
    }

    fn cluster() -> Known {
        Known {
            nodes: cluster_nodes(),
            ..Default::default()
        }
    }

    fn cluster_nodes() -> Vec<NodeType> {
        node_types(&[
            node("ml.g5.8xlarge", Some("1"), "Schedulable", true),
            node("ml.c5.2xlarge", None, "Schedulable", true),
            node("ml.p4d.24xlarge", Some("8"), "Unschedulable", true),
            node("ml.g5.48xlarge", Some("8"), "Schedulable", false),
        ])
    }

    fn js(t: &str) -> Value {
        json!({"spec": {"server": {"instanceType": t}}})
    }

    #[test]
    fn a_type_the_cluster_has_is_placeable_and_others_are_refused_with_the_choices() {
        let c = cluster();
        let k = ModelKind::JumpStartModel;
        judge(k, &js("ml.g5.8xlarge"), &c, "--instance-type").unwrap();
        judge(k, &js("ml.c5.2xlarge"), &c, "--instance-type").unwrap();
        let e = judge(k, &js("ml.g5.12xlarge"), &c, "--instance-type").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let m = e.to_string();
        says(
            &m,
            &[
                "--instance-type",
                "ml.g5.12xlarge: the cluster has no node of that type",
                "ml.g5.8xlarge (1 node(s), 1 GPU(s) per node)",
                "ml.c5.2xlarge (1 node(s), no GPU)",
            ],
        );
        assert!(!m.contains("ml.p4d.24xlarge ("), "{m}");
        let e = judge(k, &js("ml.p4d.24xlarge"), &c, "--instance-type").unwrap_err();
        assert!(
            e.to_string()
                .contains("none of its 1 node(s) is schedulable"),
            "{e}"
        );
        let e = judge(k, &js("ml.g5.48xlarge"), &c, "--instance-type").unwrap_err();
        assert!(e.to_string().contains("ml.g5.48xlarge: none of its"), "{e}");
    }

    #[test]
    fn gpus_per_replica_and_instance_type_lists_count() {
        let c = cluster();
        let k = ModelKind::InferenceEndpointConfig;
        let custom = |types: Value, gpus: &str| json!({"spec": {"instanceTypes": types, "worker": {"resources": {"limits": {"nvidia.com/gpu": gpus}}}}});
        let e = judge(k, &custom(json!(["ml.g5.8xlarge"]), "4"), &c, "--gpus").unwrap_err();
        assert!(
            e.to_string()
                .contains("needs 4 GPU(s), its nodes have at most 1"),
            "{e}"
        );
        judge(
            k,
            &custom(json!(["ml.g5.12xlarge", "ml.g5.8xlarge"]), "1"),
            &c,
            "--instance-types",
        )
        .unwrap();
        // No type asked for (the operator picks): nothing to judge.
        judge(k, &json!({"spec": {}}), &c, "-f").unwrap();
    }

    #[test]
    fn instance_groups_and_the_models_types_narrow_the_choices() {
        let k = ModelKind::JumpStartModel;
        let facts = Known {
            nodes: cluster_nodes(),
            groups: Some((
                "hp".into(),
                vec!["ml.c5.2xlarge".into(), "ml.g5.8xlarge".into()],
            )),
            model: Some(ModelTypes {
                model_id: "bert".into(),
                hub: PUBLIC_HUB.into(),
                supported: vec!["ml.c5.2xlarge".into(), "ml.g5.2xlarge".into()],
            }),
        };
        judge(k, &js("ml.c5.2xlarge"), &facts, "--instance-type").unwrap();
        // A type the cluster lacks: its instance groups are listed.
        let m = judge(k, &js("ml.g5.2xlarge"), &facts, "--instance-type")
            .unwrap_err()
            .to_string();
        says(
            &m,
            &[
                "ml.g5.2xlarge: not an instance group of HyperPod cluster hp",
                "HyperPod cluster hp's instance groups are ml.c5.2xlarge, ml.g5.8xlarge",
            ],
        );
        assert!(!m.contains("does not support"), "{m}");
        // A type the cluster has but the model does not support: the model's types are listed,
        // and the only placeable choice is the one both allow.
        let e = judge(k, &js("ml.g5.8xlarge"), &facts, "--instance-type").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let m = e.to_string();
        says(
            &m,
            &[
                "ml.g5.8xlarge: JumpStart model bert does not support it",
                "bert supports ml.c5.2xlarge, ml.g5.2xlarge",
                "the cluster can place it on ml.c5.2xlarge (1 node(s), no GPU)",
            ],
        );
        assert!(!m.contains("ml.g5.8xlarge (1 node(s)"), "{m}");
    }

    #[test]
    fn hub_content_documents_are_json_strings() {
        let doc = json!({"DefaultInferenceInstanceType": "ml.m5.xlarge",
            "SupportedInferenceInstanceTypes": ["ml.m5.xlarge", "ml.c5.2xlarge"]});
        let answer = json!({"HubContentName": "bert", "HubContentDocument": doc.to_string()});
        assert_eq!(
            hub_supported_types(&answer).unwrap(),
            ["ml.m5.xlarge", "ml.c5.2xlarge"]
        );
        // An object where a string belongs, no document, no list, broken JSON: said, not guessed.
        assert!(hub_supported_types(&json!({"HubContentDocument": doc})).is_err());
        assert!(hub_supported_types(&json!({})).is_err());
        let no_list = json!({"HubContentDocument": "{\"Task\": \"eqa\"}"});
        assert!(hub_supported_types(&no_list)
            .unwrap_err()
            .contains("SupportedInferenceInstanceTypes"));
        assert!(hub_supported_types(&json!({"HubContentDocument": "{"})).is_err());
        let groups: Vec<InstanceGroup> = serde_json::from_value(json!([
            {"InstanceGroupName": "b", "InstanceType": "ml.g5.8xlarge"},
            {"InstanceGroupName": "a", "InstanceType": "ml.c5.2xlarge"},
            {"InstanceGroupName": "c", "InstanceType": "ml.g5.8xlarge"}]))
        .unwrap();
        assert_eq!(group_types(&groups), ["ml.c5.2xlarge", "ml.g5.8xlarge"]);
    }
}
