//! Why a deployment failed or is stuck: the status's reason and message, its conditions, the
//! latest events, the model pods' states, and what to do about the well-known causes.

use serde::Serialize;
use serde_json::Value;

use super::cluster::{self, EventInfo, PodInfo};
use super::kind::ModelKind;
use super::status::ModelStatus;
use crate::Ctx;

/// One status condition.
#[derive(Debug, Clone, Serialize)]
pub struct Condition {
    #[serde(rename = "type")]
    pub condition_type: String,
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub last_transition_time: Option<String>,
}

/// Everything known about why a model is not serving.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Diagnostics {
    pub state: Option<String>,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub conditions: Vec<Condition>,
    pub events: Vec<EventInfo>,
    /// Pods labelled `app=<name>`.
    pub pods: Vec<PodInfo>,
    pub hints: Vec<String>,
    /// What could not be read (diagnosis never fails).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<String>,
}

pub(crate) fn conditions(obj: &Value) -> Vec<Condition> {
    let s = |c: &Value, k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|c| Condition {
            condition_type: s(c, "type").unwrap_or_default(),
            status: s(c, "status").unwrap_or_default(),
            reason: s(c, "reason"),
            message: s(c, "message"),
            last_transition_time: s(c, "lastTransitionTime"),
        })
        .collect()
}

/// Gathers the diagnosis; failures to read become `unavailable` notes.
pub(crate) fn collect(
    ctx: &Ctx,
    kind: ModelKind,
    ns: &str,
    name: &str,
    obj: Option<&Value>,
) -> Diagnostics {
    let mut d = Diagnostics::default();
    if let Some(o) = obj.filter(|o| !o.is_null()) {
        let s = ModelStatus::of(kind, o);
        d.state = s.state;
        d.reason = s.reason;
        d.message = s.message;
        d.conditions = conditions(o);
    }
    match cluster::events(ctx, ns, name, 10) {
        Ok(e) => d.events = e,
        Err(e) => d.unavailable.push(format!("events: {e}")),
    }
    match cluster::pods(ctx, ns, &cluster::model_selector(name)) {
        Ok(p) => d.pods = p.iter().map(PodInfo::of).collect(),
        Err(e) => d.unavailable.push(format!("pods: {e}")),
    }
    d.hints = hints(&d, name);
    d
}

/// What to do, for the causes we recognise.
pub(crate) fn hints(d: &Diagnostics, name: &str) -> Vec<String> {
    let mut texts: Vec<String> = Vec::new();
    texts.extend(d.reason.clone());
    texts.extend(d.message.clone());
    for c in &d.conditions {
        texts.extend(c.message.clone());
    }
    for e in &d.events {
        texts.push(format!("{} {}", e.reason, e.message));
    }
    for p in &d.pods {
        texts.extend(p.reason.clone());
        texts.extend(p.message.clone());
    }
    let all = texts.join("\n");
    let has = |needle: &str| all.contains(needle);
    let mut out = Vec::new();
    if has("Insufficient nvidia.com/gpu") {
        out.push("no node has enough free GPUs for this model: compare its GPU request with `kubectl get nodes -o custom-columns=NAME:.metadata.name,GPU:.status.allocatable.nvidia\\.com/gpu`, free some, or choose another instance type".to_string());
    }
    if has("Insufficient cpu") || has("Insufficient memory") {
        out.push("no node has enough free CPU or memory for this model: lower the requests (--cpu, --memory) or free capacity".to_string());
    }
    if has("didn't match Pod's node affinity") || has("node(s) didn't match") {
        out.push("no node matches the requested instance type: check --instance-type against the HyperPod cluster's instance groups".to_string());
    }
    if has("ImagePullBackOff") || has("ErrImagePull") || has("InvalidImageName") {
        out.push("the model image cannot be pulled: check the image name and tag, and that the nodes may pull from that registry".to_string());
    }
    if has("CrashLoopBackOff") || has("OOMKilled") {
        out.push(format!(
            "the model server keeps crashing: read its logs with `kubectl hyperpod logs {name}`"
        ));
    }
    if has("AccessDenied") || has("not authorized") || has("UnauthorizedOperation") {
        out.push("an IAM permission is missing (named in the message above): `kubectl hyperpod doctor` checks the operator's roles".to_string());
    }
    if has("nstance type") && !has("Insufficient") {
        out.push(
            "check --instance-type: it must be an ml.* instance type that the HyperPod cluster has"
                .to_string(),
        );
    }
    if d.state.is_none() && d.pods.is_empty() {
        out.push(
            "the inference operator has not reported on this resource: is it running? `kubectl hyperpod logs --operator`, `kubectl hyperpod doctor`"
                .to_string(),
        );
    }
    out
}

/// The diagnosis for people, indented under a heading. `skip_hints` leaves out the first hints
/// (the error's own hint repeats the first).
pub(crate) fn text(d: &Diagnostics, name: &str, skip_hints: usize) -> String {
    let mut out = String::from("what the cluster says:\n");
    if let Some(s) = &d.state {
        out.push_str(&format!("  state:    {s}\n"));
    }
    if let Some(r) = &d.reason {
        out.push_str(&format!("  reason:   {r}\n"));
    }
    if let Some(m) = &d.message {
        out.push_str(&format!("  message:  {m}\n"));
    }
    if !d.conditions.is_empty() {
        out.push_str("  conditions:\n");
        for c in &d.conditions {
            out.push_str(&format!(
                "    {}={} {}{}\n",
                c.condition_type,
                c.status,
                c.reason.as_deref().unwrap_or(""),
                c.message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ));
        }
    }
    if d.events.is_empty() {
        out.push_str("  events:   none\n");
    } else {
        out.push_str("  latest events:\n");
        for e in &d.events {
            out.push_str(&format!(
                "    {} {} {} {}: {}\n",
                e.time.as_deref().unwrap_or("-"),
                e.event_type,
                e.reason,
                e.object,
                e.message
            ));
        }
    }
    if d.pods.is_empty() {
        out.push_str(&format!("  pods (app={name}): none\n"));
    } else {
        out.push_str(&format!("  pods (app={name}):\n"));
        for p in &d.pods {
            out.push_str(&format!(
                "    {} {} ready {} restarts {}{}\n",
                p.name,
                p.phase,
                p.ready,
                p.restarts,
                match (&p.reason, &p.message) {
                    (Some(r), Some(m)) => format!(" {r}: {m}"),
                    (Some(r), None) => format!(" {r}"),
                    _ => String::new(),
                }
            ));
        }
    }
    for u in &d.unavailable {
        out.push_str(&format!("  (could not read {u})\n"));
    }
    for h in d.hints.iter().skip(skip_hints) {
        out.push_str(&format!("  hint: {h}\n"));
    }
    out
}
