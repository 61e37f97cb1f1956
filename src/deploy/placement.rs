//! The placement check, before a model is created: its instance type (or one of its
//! `instanceTypes`) must be one the cluster has a schedulable node of, with enough allocatable
//! GPUs for one replica. Otherwise the operator accepts the model and it waits, unplaceable,
//! until its deadline. Read from the resource as it will be applied (flags, `--values`, `--set`
//! or `-f`), and from one `kubectl get nodes`. Skipped with `--skip-placement-check`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::kind::ModelKind;
use crate::error::{Error, Result};
use crate::tools::kube::str_at;
use crate::Ctx;

/// What the cluster offers of one instance type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeType {
    pub instance_type: String,
    /// Ready nodes HyperPod calls Schedulable (or that carry no HyperPod health label).
    pub schedulable: usize,
    /// Nodes of the type that are not (unhealthy, cordoned, not Ready).
    pub unschedulable: usize,
    /// The most allocatable `nvidia.com/gpu` on one schedulable node.
    pub gpus: i64,
}

/// The cluster's instance types, from `kubectl get nodes -o json`'s items.
pub fn node_types(nodes: &[Value]) -> Vec<NodeType> {
    let mut by_type: BTreeMap<String, NodeType> = BTreeMap::new();
    for n in nodes {
        let Some(t) = str_at(n, "/metadata/labels/node.kubernetes.io~1instance-type") else {
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
            let gpus = str_at(n, "/status/allocatable/nvidia.com~1gpu")
                .and_then(|g| g.parse::<i64>().ok())
                .unwrap_or(0);
            e.gpus = e.gpus.max(gpus);
        } else {
            e.unschedulable += 1;
        }
    }
    by_type.into_values().collect()
}

/// The instance types a resource asks for (in order) and the GPUs one replica needs.
pub fn wanted(kind: ModelKind, resource: &Value) -> (Vec<String>, i64) {
    let spec = &resource["spec"];
    let types: Vec<String> = match kind {
        ModelKind::JumpStartModel => str_at(spec, "/server/instanceType")
            .map(|t| vec![t.to_string()])
            .unwrap_or_default(),
        ModelKind::InferenceEndpointConfig => {
            let list: Vec<String> = spec["instanceTypes"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            if list.is_empty() {
                str_at(spec, "/instanceType")
                    .map(|t| vec![t.to_string()])
                    .unwrap_or_default()
            } else {
                list
            }
        }
    };
    let res = &spec["worker"]["resources"];
    let gpus = ["requests", "limits"]
        .iter()
        .filter_map(|k| {
            res[k]["nvidia.com/gpu"]
                .as_str()
                .and_then(|g| g.parse().ok())
                .or(res[k]["nvidia.com/gpu"].as_i64())
        })
        .max()
        .unwrap_or(0);
    (types, gpus)
}

/// Whether one replica of `kind`/`resource` can be placed on `types`; the error lists the
/// choices. `flag` names what the user set (`--instance-type`, or the file).
pub fn judge(kind: ModelKind, resource: &Value, types: &[NodeType], flag: &str) -> Result<()> {
    let (want, gpus) = wanted(kind, resource);
    if want.is_empty() {
        return Ok(());
    }
    let fits = |t: &NodeType| t.schedulable > 0 && t.gpus >= gpus;
    if want
        .iter()
        .any(|w| types.iter().any(|t| &t.instance_type == w && fits(t)))
    {
        return Ok(());
    }
    let why: Vec<String> = want
        .iter()
        .map(|w| match types.iter().find(|t| &t.instance_type == w) {
            None => format!("{w}: the cluster has no node of that type"),
            Some(t) if t.schedulable == 0 => format!(
                "{w}: none of its {} node(s) is schedulable (unhealthy, cordoned or not Ready)",
                t.unschedulable
            ),
            Some(t) => format!(
                "{w}: one replica needs {gpus} GPU(s), its nodes have at most {}",
                t.gpus
            ),
        })
        .collect();
    let choices: Vec<String> = types
        .iter()
        .filter(|t| fits(t))
        .map(|t| {
            let gpu = match t.gpus {
                0 => "no GPU".to_string(),
                n => format!("{n} GPU(s) per node"),
            };
            format!("{} ({} node(s), {gpu})", t.instance_type, t.schedulable)
        })
        .collect();
    let choices = if choices.is_empty() {
        "the cluster has no schedulable node that fits".to_string()
    } else {
        format!("the cluster can place it on {}", choices.join(", "))
    };
    Err(Error::invalid(
        flag,
        format!(
            "{}; {choices} (or pass --skip-placement-check if nodes are on their way)",
            why.join("; ")
        ),
    ))
}

/// Reads the cluster's nodes and judges the resource against them.
pub fn check(ctx: &Ctx, kind: ModelKind, resource: &Value, flag: &str) -> Result<()> {
    let nodes = ctx.kube.list(&ctx.runner, "nodes", None, None)?;
    judge(kind, resource, &node_types(&nodes), flag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    fn cluster() -> Vec<NodeType> {
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
        assert!(m.contains("--instance-type"), "{m}");
        assert!(
            m.contains("ml.g5.12xlarge: the cluster has no node of that type"),
            "{m}"
        );
        assert!(
            m.contains("ml.g5.8xlarge (1 node(s), 1 GPU(s) per node)"),
            "{m}"
        );
        assert!(m.contains("ml.c5.2xlarge (1 node(s), no GPU)"), "{m}");
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
}
