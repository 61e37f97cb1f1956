//! Reading model resources and what surrounds them (events, pods) from the cluster with kubectl.

use serde::Serialize;
use serde_json::Value;

use super::kind::ModelKind;
use crate::error::{Error, Result};
use crate::exec::{command_error, parse_json};
use crate::tools::kube::{self, is_not_found, is_unknown_resource, Obj};
use crate::Ctx;

fn crd_missing(kind: ModelKind) -> Error {
    Error::failed(
        format!(
            "the {} custom resource definition is not installed in this cluster",
            kind.kind()
        ),
        Some(
            "install the inference operator with `kubectl hyperpod setup`, or check --context"
                .into(),
        ),
    )
}

enum Lookup {
    Found(Value),
    Absent,
    NoCrd,
}

fn lookup(ctx: &Ctx, kind: ModelKind, ns: &str, name: &str) -> Result<Lookup> {
    let cmd = kube::get_json(
        &ctx.kube,
        format!("read {} {ns}/{name}", kind.kind()),
        Obj {
            resource: kind.resource(),
            name,
            ns,
        },
    );
    let out = ctx.runner.run_unchecked(&cmd)?;
    if out.success() {
        return parse_json(&cmd, &out.stdout).map(Lookup::Found);
    }
    if is_unknown_resource(&out) {
        return Ok(Lookup::NoCrd);
    }
    if is_not_found(&out) {
        return Ok(Lookup::Absent);
    }
    Err(command_error(&cmd, &out))
}

/// One model resource; `Ok(None)` when absent. A missing CRD is an error that says so.
pub(crate) fn get_model(ctx: &Ctx, kind: ModelKind, ns: &str, name: &str) -> Result<Option<Value>> {
    match lookup(ctx, kind, ns, name)? {
        Lookup::Found(v) => Ok(Some(v)),
        Lookup::Absent => Ok(None),
        Lookup::NoCrd => Err(crd_missing(kind)),
    }
}

/// Finds the model resource called `name`, of either kind unless one is given.
pub(crate) fn find(
    ctx: &Ctx,
    ns: &str,
    name: &str,
    kind: Option<ModelKind>,
) -> Result<(ModelKind, Value)> {
    let kinds: Vec<ModelKind> = match kind {
        Some(k) => vec![k],
        None => ModelKind::ALL.to_vec(),
    };
    let mut found = Vec::new();
    let mut missing_crds = 0;
    for k in &kinds {
        match lookup(ctx, *k, ns, name)? {
            Lookup::Found(v) => found.push((*k, v)),
            Lookup::Absent => {}
            Lookup::NoCrd => missing_crds += 1,
        }
    }
    if missing_crds == kinds.len() {
        return Err(crd_missing(kinds[0]));
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::failed(
            format!("no model endpoint named {name} in namespace {ns}"),
            Some(format!(
                "list the model endpoints with `kubectl hyperpod get -n {ns}` (or -A for every namespace)"
            )),
        )),
        _ => Err(Error::invalid(
            "NAME",
            format!(
                "both a JumpStartModel and an InferenceEndpointConfig are named {name}; choose one with --kind jumpstart or --kind custom"
            ),
        )),
    }
}

/// Model resources with their kinds.
pub(crate) type Models = Vec<(ModelKind, Value)>;

/// Every model resource of both kinds (`ns` None: all namespaces), and the kinds whose CRD is
/// not installed.
pub(crate) fn list(ctx: &Ctx, ns: Option<&str>) -> Result<(Models, Vec<ModelKind>)> {
    let mut items = Vec::new();
    let mut missing = Vec::new();
    for k in ModelKind::ALL {
        let cmd = kube::list_resource(
            &ctx.kube,
            format!("list {} resources", k.kind()),
            k.resource(),
            ns,
            None,
        );
        let out = ctx.runner.run_unchecked(&cmd)?;
        if !out.success() {
            if is_unknown_resource(&out) {
                missing.push(k);
                continue;
            }
            return Err(command_error(&cmd, &out));
        }
        let v: Value = parse_json(&cmd, &out.stdout)?;
        for item in v["items"].as_array().cloned().unwrap_or_default() {
            items.push((k, item));
        }
    }
    items.sort_by(|a, b| {
        let key = |x: &(ModelKind, Value)| {
            (
                x.1.pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                x.1.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            )
        };
        key(a).cmp(&key(b))
    });
    Ok((items, missing))
}

/// One Kubernetes event, for people.
#[derive(Debug, Clone, Serialize)]
pub struct EventInfo {
    pub time: Option<String>,
    #[serde(rename = "type")]
    pub event_type: String,
    pub reason: String,
    /// `Kind/name` of the object the event is about.
    pub object: String,
    pub message: String,
    pub count: i64,
}

fn event_time(e: &Value) -> Option<String> {
    [
        "/lastTimestamp",
        "/eventTime",
        "/series/lastObservedTime",
        "/metadata/creationTimestamp",
    ]
    .iter()
    .find_map(|p| {
        e.pointer(p)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    })
    .map(str::to_string)
}

/// The latest `limit` events about the model resource and the objects named after it (its
/// Deployment, ReplicaSets and pods are `<name>-...`), oldest first.
pub(crate) fn events(ctx: &Ctx, ns: &str, name: &str, limit: usize) -> Result<Vec<EventInfo>> {
    let cmd = kube::list_json(
        &ctx.kube,
        format!("read the events of namespace {ns}"),
        "events",
        Some(ns),
        None,
    );
    let v: Value = ctx.runner.json(&cmd)?;
    let prefix = format!("{name}-");
    let mut out: Vec<(i64, EventInfo)> = v["items"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|e| {
            let n = e
                .pointer("/involvedObject/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            n == name || n.starts_with(&prefix)
        })
        .map(|e| {
            let time = event_time(e);
            let t = time
                .as_deref()
                .and_then(crate::time::parse_rfc3339)
                .unwrap_or(0);
            let str_at = |p: &str| {
                e.pointer(p)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            (
                t,
                EventInfo {
                    time,
                    event_type: str_at("/type"),
                    reason: str_at("/reason"),
                    object: format!(
                        "{}/{}",
                        str_at("/involvedObject/kind"),
                        str_at("/involvedObject/name")
                    ),
                    message: str_at("/message").trim().to_string(),
                    count: e.get("count").and_then(Value::as_i64).unwrap_or(1),
                },
            )
        })
        .collect();
    out.sort_by_key(|(t, _)| *t);
    let skip = out.len().saturating_sub(limit);
    Ok(out.into_iter().skip(skip).map(|(_, e)| e).collect())
}

/// One pod, and why it is not running when it is not (`tools::pod_diagnosis::why_not_running`).
#[derive(Debug, Clone, Serialize)]
pub struct PodInfo {
    pub name: String,
    pub phase: String,
    /// `ready/total` containers.
    pub ready: String,
    pub restarts: i64,
    pub node: Option<String>,
    pub reason: Option<String>,
    pub message: Option<String>,
}

impl PodInfo {
    pub fn of(p: &Value) -> Self {
        let str_at = |v: &Value, ptr: &str| {
            v.pointer(ptr)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let main: Vec<&Value> = p
            .pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let total = p
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .map(Vec::len)
            .unwrap_or(main.len());
        let ready = main
            .iter()
            .filter(|c| c.get("ready").and_then(Value::as_bool).unwrap_or(false))
            .count();
        let restarts = main
            .iter()
            .map(|c| c.get("restartCount").and_then(Value::as_i64).unwrap_or(0))
            .sum();
        // Why it is not running: the shared pod diagnosis (`tools::pod_diagnosis`), in Kubernetes's words.
        let (reason, message) = match crate::tools::pod_diagnosis::why_not_running(p) {
            Some((r, m)) => (Some(r), m),
            None => (None, None),
        };
        PodInfo {
            name: str_at(p, "/metadata/name").unwrap_or_default(),
            phase: str_at(p, "/status/phase").unwrap_or_else(|| "Unknown".into()),
            ready: format!("{ready}/{total}"),
            restarts,
            node: str_at(p, "/spec/nodeName"),
            reason,
            message,
        }
    }
}

/// The pods matching a label selector.
pub(crate) fn pods(ctx: &Ctx, ns: &str, selector: &str) -> Result<Vec<Value>> {
    let cmd = kube::list_json(
        &ctx.kube,
        format!("list the pods {selector} in {ns}"),
        "pods",
        Some(ns),
        Some(selector),
    );
    let v: Value = ctx.runner.json(&cmd)?;
    Ok(v["items"].as_array().cloned().unwrap_or_default())
}

/// The label selector of a model's pods (the operator labels them `app=<name>`).
pub(crate) fn model_selector(name: &str) -> String {
    format!("app={name}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pod_reasons() {
        let pending = json!({"metadata": {"name": "m-1"}, "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
            "reason": "Unschedulable", "message": "0/2 nodes are available: 2 Insufficient nvidia.com/gpu."}]}});
        let p = PodInfo::of(&pending);
        assert_eq!(p.reason.as_deref(), Some("Unschedulable"));
        assert!(p.message.unwrap().contains("Insufficient nvidia.com/gpu"));
        assert_eq!(p.ready, "0/1");
        let pulling = json!({"metadata": {"name": "m-2"}, "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Pending", "containerStatuses": [{"name": "c", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}}]}});
        assert_eq!(
            PodInfo::of(&pulling).reason.as_deref(),
            Some("ImagePullBackOff")
        );
    }
}
