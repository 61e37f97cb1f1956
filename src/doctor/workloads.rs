//! Reading workloads and pods the way a person reads `kubectl describe`: is a Deployment or
//! DaemonSet ready, which pods are its own, and what is wrong with each (`tools::pod_diagnosis`'s
//! diagnosis, with the last logs worth reading), with recent events; and the `describe` and
//! `rollout restart` commands a fix names for one.

use serde_json::Value;

use super::facts::{Facts, NamespaceObjects};
use crate::exec::Cmd;
use crate::tools::kube::{self, str_at, KubeOpts, Obj};
use crate::tools::pod_diagnosis::{self, event_time, events_of, Events, PodProblem};

pub(crate) use crate::install::WorkloadMatch;

/// The first workload that matches, preferring the expected namespace, then name matches.
pub(crate) fn find<'a>(
    workloads: impl Iterator<Item = &'a Value>,
    m: &WorkloadMatch,
) -> Option<&'a Value> {
    let mut found: Vec<&Value> = workloads.filter(|w| m.matches(w)).collect();
    found.sort_by_key(|w| {
        let ns = str_at(w, "/metadata/namespace");
        let name = str_at(w, "/metadata/name").unwrap_or("");
        (
            m.namespace.is_some() && ns != m.namespace,
            !m.names.contains(&name),
            name.to_string(),
        )
    });
    found.into_iter().next()
}

pub(crate) fn name(o: &Value) -> &str {
    str_at(o, "/metadata/name").unwrap_or("?")
}

pub(crate) fn namespace(o: &Value) -> &str {
    str_at(o, "/metadata/namespace").unwrap_or("default")
}

pub(crate) fn kind(o: &Value) -> &str {
    o["kind"].as_str().unwrap_or("Deployment")
}

/// `kubectl describe RESOURCE NAME -n NS` of a workload (or any object), for a fix to show.
pub(crate) fn describe_cmd(k: &KubeOpts, resource: &str, o: &Value) -> Cmd {
    kube::describe(k, "inspect", obj(resource, o))
}

/// `kubectl rollout restart RESOURCE NAME -n NS` of a workload, for a fix.
pub(crate) fn restart_cmd(k: &KubeOpts, resource: &str, w: &Value) -> Cmd {
    kube::rollout_restart(k, "fix", obj(resource, w))
}

/// An object read from the cluster, as `resource` names it to kubectl.
pub(crate) fn obj<'a>(resource: &'a str, o: &'a Value) -> Obj<'a> {
    Obj {
        resource,
        name: name(o),
        ns: namespace(o),
    }
}

/// `namespace/name`.
pub(crate) fn ref_of(o: &Value) -> String {
    format!("{}/{}", namespace(o), name(o))
}

/// The ServiceAccount a workload's pods run as.
pub(crate) fn service_account(w: &Value) -> &str {
    str_at(w, "/spec/template/spec/serviceAccountName")
        .or_else(|| str_at(w, "/spec/template/spec/serviceAccount"))
        .unwrap_or("default")
}

/// Ready and wanted replicas (pods for a DaemonSet).
pub(crate) fn readiness(w: &Value) -> (i64, i64) {
    let st = &w["status"];
    if kind(w) == "DaemonSet" {
        let want = st["desiredNumberScheduled"].as_i64().unwrap_or(0);
        let ready = st["numberReady"].as_i64().unwrap_or(0);
        return (ready, want);
    }
    let want = w["spec"]["replicas"].as_i64().unwrap_or(1);
    let ready = st["readyReplicas"].as_i64().unwrap_or(0);
    let available = st["availableReplicas"].as_i64().unwrap_or(0);
    (ready.min(available), want)
}

/// Whether the workload is ready, and the line that says so: `SHOWN: READY/WANTED WHAT`.
pub(crate) fn ready_line(w: &Value, shown: &str, what: &str) -> (bool, String) {
    let (ready, want) = readiness(w);
    (is_ready(w), format!("{shown}: {ready}/{want} {what}"))
}

pub(crate) fn is_ready(w: &Value) -> bool {
    let (ready, want) = readiness(w);
    if kind(w) == "DaemonSet" {
        return want > 0 && ready >= want;
    }
    ready >= want
}

/// True when every `matchLabels` entry of a selector is on the object.
pub(crate) fn selector_matches(selector: &Value, obj: &Value) -> bool {
    let Some(want) = selector["matchLabels"].as_object() else {
        return false;
    };
    let labels = &obj["metadata"]["labels"];
    !want.is_empty()
        && want
            .iter()
            .all(|(k, v)| labels.get(k).and_then(Value::as_str) == v.as_str())
}

/// The pods of a workload (by its selector) among a namespace's pods.
pub(crate) fn pods_of<'a>(w: &Value, ns: &'a NamespaceObjects) -> Vec<&'a Value> {
    ns.pods
        .iter()
        .filter(|p| selector_matches(&w["spec"]["selector"], p))
        .collect()
}

/// One event as a line: `Warning FailedScheduling (x3): message`.
pub(crate) fn event_line(e: &Value) -> String {
    let count = e["count"].as_i64().unwrap_or(1);
    let times = if count > 1 {
        format!(" (x{count})")
    } else {
        String::new()
    };
    format!(
        "{} {}{times}: {}",
        str_at(e, "/type").unwrap_or("Normal"),
        str_at(e, "/reason").unwrap_or("?"),
        str_at(e, "/message").unwrap_or("").trim()
    )
}

/// The last lines a container logged, as a detail; for a crashed container its previous run's
/// (falling back to the current run when the kubelet kept no previous one).
pub(crate) fn log_tail(
    facts: &Facts,
    ns: &str,
    pod: &str,
    c: &str,
    previous: bool,
) -> Option<String> {
    let read = |prev: bool| {
        facts
            .logs(ns, pod, c, prev)
            .ok()
            .filter(|t| !t.trim().is_empty())
            .map(|t| (t, prev))
    };
    let (text, prev) = read(previous).or_else(|| if previous { read(false) } else { None })?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(5);
    let which = if prev {
        "last logs before the crash"
    } else {
        "last logs"
    };
    Some(format!(
        "{which} of {pod}/{c}:\n{}",
        lines[start..].join("\n")
    ))
}

/// Why a workload is not ready, as detail lines and the problems found (with log tails read).
pub(crate) fn why_not_ready(facts: &Facts, w: &Value) -> (Vec<PodProblem>, Vec<String>) {
    let ns = namespace(w);
    let objects = match facts.namespace(ns) {
        Ok(o) => o,
        Err(e) => {
            return (
                Vec::new(),
                vec![format!("could not read its pods: {}", e.0)],
            )
        }
    };
    let pods = pods_of(w, &objects);
    let mut details = Vec::new();
    let mut problems = Vec::new();
    if pods.is_empty() {
        details.push(format!(
            "no pods match the selector of {} {}",
            kind(w),
            ref_of(w)
        ));
        // Pods not even created: the ReplicaSet's or the workload's events say why (quota, SA missing...).
        let wname = name(w);
        let mut ev: Vec<&Value> = objects
            .events
            .iter()
            .filter(|e| {
                str_at(e, "/involvedObject/name").is_some_and(|n| n.starts_with(wname))
                    && str_at(e, "/type") == Some("Warning")
            })
            .collect();
        ev.sort_by_key(|e| event_time(e).to_string());
        details.extend(ev.iter().rev().take(3).rev().map(|e| event_line(e)));
        return (problems, details);
    }
    for p in &pods {
        let found = pod_diagnosis::problems(p, &objects.events);
        if found.is_empty() {
            let phase = str_at(p, "/status/phase").unwrap_or("Unknown");
            if phase != "Running" {
                details.push(format!("pod {} is {phase}", name(p)));
            }
        }
        for pr in &found {
            details.push(pr.line());
            if let Some((c, prev)) = &pr.logs {
                if let Some(tail) = log_tail(facts, ns, &pr.pod, c, *prev) {
                    details.push(tail);
                }
            }
        }
        for e in events_of(&objects.events, "Pod", name(p), Events::Warnings, 3) {
            let line = event_line(e);
            if !details
                .iter()
                .any(|d| d.contains(str_at(e, "/message").unwrap_or("\u{0}")))
            {
                details.push(format!("event on {}: {line}", name(p)));
            }
        }
        problems.extend(found);
    }
    (problems, details)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn workloads_are_found_by_name_or_label_preferring_the_namespace() {
        let ws = [
            json!({"kind": "Deployment", "metadata": {"name": "other", "namespace": "x", "labels": {"app.kubernetes.io/name": "keda-operator"}}}),
            json!({"kind": "Deployment", "metadata": {"name": "keda-operator", "namespace": "keda"}}),
        ];
        let m = WorkloadMatch {
            names: &["keda-operator"],
            labels: &[("app.kubernetes.io/name", "keda-operator")],
            namespace: Some("keda"),
        };
        assert_eq!(name(find(ws.iter(), &m).unwrap()), "keda-operator");
        let m2 = WorkloadMatch {
            names: &[],
            labels: &[("app.kubernetes.io/name", "keda-operator")],
            namespace: None,
        };
        assert_eq!(name(find(ws.iter(), &m2).unwrap()), "other");
    }

    #[test]
    fn readiness_of_deployments_and_daemonsets() {
        let d = json!({"kind": "Deployment", "spec": {"replicas": 2}, "status": {"readyReplicas": 2, "availableReplicas": 1}});
        assert_eq!(readiness(&d), (1, 2));
        assert!(!is_ready(&d));
        let ds =
            json!({"kind": "DaemonSet", "status": {"desiredNumberScheduled": 3, "numberReady": 3}});
        assert!(is_ready(&ds));
        let empty =
            json!({"kind": "DaemonSet", "status": {"desiredNumberScheduled": 0, "numberReady": 0}});
        assert!(!is_ready(&empty));
    }
}
