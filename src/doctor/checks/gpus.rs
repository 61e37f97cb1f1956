//! HP7xx: GPUs: the NVIDIA device plugin runs, and nodes advertise `nvidia.com/gpu`.

use serde_json::Value;

use super::models;
use crate::doctor::facts::Facts;
use crate::doctor::fixes::NVIDIA_PLUGIN_URL;
use crate::doctor::report::{Fix, Outcome};
use crate::doctor::runner::Problem;
use crate::doctor::workloads::{self, WorkloadMatch};
use crate::install::names::NVIDIA_DAEMONSET;
use crate::tools::kube::{self, Deletion, KubeOpts};

use crate::deploy::model::{node_gpus, node_instance_type, quantity, GPU};

pub(crate) const DEVICE_PLUGIN: WorkloadMatch = crate::install::DEVICE_PLUGIN_WORKLOAD;

/// `ml.g5.12xlarge`, `p4d.24xlarge` ...: the NVIDIA GPU instance families (g*, p*).
pub(crate) fn is_gpu_instance(t: &str) -> bool {
    let t = t.strip_prefix("ml.").unwrap_or(t);
    let mut c = t.chars();
    matches!(c.next(), Some('g' | 'p')) && c.next().is_some_and(|d| d.is_ascii_digit())
}

/// GPUs a pod asks for (requests, else limits, summed over its containers).
pub(crate) fn pod_gpus(p: &Value) -> i64 {
    p["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let r = quantity(&c["resources"]["requests"][GPU]);
            if r > 0 {
                r
            } else {
                quantity(&c["resources"]["limits"][GPU])
            }
        })
        .sum()
}

fn plugin_fix(f: &Facts, ds: Option<&Value>) -> Fix {
    match ds {
        Some(ds) => Fix::manual(
            "restart the NVIDIA device plugin so it registers the GPUs again",
            vec![workloads::restart_cmd(&f.ctx.kube, "daemonset", ds)],
        ),
        None => Fix::manual(
            "install the NVIDIA device plugin (guide Step 9; setup installs it too)",
            vec![kube::apply_url(&f.ctx.kube, "fix", NVIDIA_PLUGIN_URL)],
        ),
    }
}

fn gpu_models(f: &Facts) -> Vec<String> {
    f.models()
        .map(|ms| {
            ms.iter()
                .filter(|m| models::spec(m).instance_type().is_some_and(is_gpu_instance))
                .map(workloads::ref_of)
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn device_plugin(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    let objs = f.cluster()?;
    let total: i64 = objs.nodes.iter().map(node_gpus).sum();
    let gpu_nodes = objs
        .nodes
        .iter()
        .filter(|n| node_instance_type(n).is_some_and(is_gpu_instance))
        .count();
    let Some(ds) = workloads::find(objs.daemonsets.iter(), &DEVICE_PLUGIN) else {
        if total > 0 {
            return Ok(vec![Outcome::pass(format!(
                "no {NVIDIA_DAEMONSET} DaemonSet, but nodes advertise {total} GPUs (another plugin or the GPU operator runs)"
            ))]);
        }
        let wanting = gpu_models(f);
        let finding = "the NVIDIA device plugin is not installed".to_string();
        return Ok(vec![if gpu_nodes > 0 || !wanting.is_empty() {
            Outcome::fail(format!(
                "{finding}: GPU nodes and models cannot use their GPUs"
            ))
        } else {
            Outcome::warn(format!("{finding}; GPU models need it"))
        }
        .fix(plugin_fix(f, None))]);
    };
    let all: Vec<&Value> = objs
        .daemonsets
        .iter()
        .filter(|d| DEVICE_PLUGIN.matches(d))
        .collect();
    if all.len() > 1 {
        return Ok(vec![two_plugins(f, &all)]);
    }
    let (ready, line) = workloads::ready_line(ds, &workloads::ref_of(ds), "pods ready");
    if ready {
        return Ok(vec![Outcome::pass(line)]);
    }
    let (_, details) = workloads::why_not_ready(f, ds);
    Ok(vec![Outcome::fail(line).details(details).fix(Fix::manual(
        "look at the device plugin's pods",
        // Printed without the user's --kubeconfig/--context (as before this moved to tools).
        vec![workloads::describe_cmd(
            &KubeOpts::default(),
            "daemonset",
            ds,
        )],
    ))])
}

/// Two NVIDIA device plugins on the same nodes (e.g. the guide's next to the one HyperPod's
/// `dependencies` release runs on every new cluster) compete for registering `nvidia.com/gpu`.
/// The fix removes setup's (the guide's) and keeps the cluster's own.
fn two_plugins(f: &Facts, all: &[&Value]) -> Outcome {
    let shown: Vec<String> = all.iter().map(|d| workloads::ref_of(d)).collect();
    let o = Outcome::warn(format!(
        "{} NVIDIA device plugins run ({}): they compete for registering {GPU} on the same nodes",
        all.len(),
        shown.join(", ")
    ));
    let extra = all.iter().find(|d| workloads::name(d) == NVIDIA_DAEMONSET);
    match extra {
        Some(d) => o.fix(Fix::manual(
            format!(
                "remove the guide's device plugin {}; the other one stays",
                workloads::ref_of(d)
            ),
            vec![kube::delete(
                &f.ctx.kube,
                "fix",
                "daemonset",
                &[NVIDIA_DAEMONSET],
                Some(workloads::namespace(d)),
                Deletion::default(),
            )],
        )),
        None => o.fix(Fix::advice(
            "keep one NVIDIA device plugin: delete the others' DaemonSets",
        )),
    }
}

pub(crate) fn allocatable(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    let objs = f.cluster()?;
    let nodes = &objs.nodes;
    let total: i64 = nodes.iter().map(node_gpus).sum();
    let with = nodes.iter().filter(|n| node_gpus(n) > 0).count();
    let silent: Vec<String> = nodes
        .iter()
        .filter(|n| node_gpus(n) == 0)
        .filter_map(|n| {
            node_instance_type(n)
                .filter(|t| is_gpu_instance(t))
                .map(|t| format!("{} ({t})", workloads::name(n)))
        })
        .collect();
    let ds = workloads::find(objs.daemonsets.iter(), &DEVICE_PLUGIN);
    if total > 0 && silent.is_empty() {
        return Ok(vec![Outcome::pass(format!(
            "{total} {GPU} allocatable on {with} of {} nodes",
            nodes.len()
        ))]);
    }
    if !silent.is_empty() {
        let o = format!(
            "GPU node{} {} advertise{} no {GPU}",
            if silent.len() > 1 { "s" } else { "" },
            silent.join(", "),
            if silent.len() > 1 { "" } else { "s" }
        );
        return Ok(vec![if total > 0 {
            Outcome::warn(format!("{total} {GPU} allocatable, but {o}"))
        } else {
            Outcome::fail(o)
        }
        .fix(plugin_fix(f, ds))]);
    }
    if nodes.is_empty() {
        return Ok(vec![Outcome::warn("the cluster has no nodes").fix(
            Fix::advice(
                "add instance groups to the HyperPod cluster (aws sagemaker update-cluster)",
            ),
        )]);
    }
    let wanting = gpu_models(f);
    let add = Fix::advice(format!(
        "add a GPU instance group (ml.g5, ml.p4d ...) to the HyperPod cluster: aws sagemaker update-cluster --cluster-name {} --instance-groups ...",
        f.cfg.hyperpod_cluster.as_deref().unwrap_or("<hyperpod-cluster>")
    ));
    if !wanting.is_empty() {
        return Ok(vec![Outcome::fail(format!(
            "no node has {GPU}, but {} need{} GPUs",
            wanting.join(", "),
            if wanting.len() > 1 { "" } else { "s" }
        ))
        .fix(add)]);
    }
    Ok(vec![Outcome::warn(format!(
        "no node has {GPU} ({} nodes, none with GPUs): GPU models will stay Pending",
        nodes.len()
    ))
    .fix(add)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn gpu_instance_families() {
        for t in [
            "ml.g5.12xlarge",
            "ml.p4d.24xlarge",
            "g6e.xlarge",
            "ml.p5.48xlarge",
        ] {
            assert!(is_gpu_instance(t), "{t}");
        }
        for t in [
            "ml.c5.2xlarge",
            "ml.m5.large",
            "ml.trn1.32xlarge",
            "ml.inf2.xlarge",
            "ml.gr",
        ] {
            assert!(!is_gpu_instance(t), "{t}");
        }
    }

    #[test]
    fn quantities_and_requests() {
        assert_eq!(quantity(&json!("4")), 4);
        assert_eq!(quantity(&json!(2)), 2);
        assert_eq!(quantity(&json!(null)), 0);
        let p = json!({"spec": {"containers": [
            {"resources": {"limits": {"nvidia.com/gpu": "2"}}},
            {"resources": {"requests": {"nvidia.com/gpu": 1}, "limits": {"nvidia.com/gpu": 1}}}]}});
        assert_eq!(pod_gpus(&p), 3);
    }
}
