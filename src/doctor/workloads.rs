//! Reading workloads and pods the way a person reads `kubectl describe`: is a Deployment or
//! DaemonSet ready, which pods are its own, and what is wrong with each (init container
//! termination messages, CrashLoopBackOff, image pulls, scheduling, probes), with recent events.

use serde_json::Value;

use super::facts::{Facts, NamespaceObjects};
use crate::tools::kube::str_at;

/// How to recognise a workload: by name, or by one of its labels.
#[derive(Debug, Clone, Copy)]
pub struct WorkloadMatch {
    pub names: &'static [&'static str],
    pub labels: &'static [(&'static str, &'static str)],
    /// Prefer a workload in this namespace when several match.
    pub namespace: Option<&'static str>,
}

impl WorkloadMatch {
    fn matches(&self, w: &Value) -> bool {
        let name = str_at(w, "/metadata/name").unwrap_or("");
        if self.names.contains(&name) {
            return true;
        }
        let labels = &w["metadata"]["labels"];
        self.labels
            .iter()
            .any(|(k, v)| labels.get(*k).and_then(Value::as_str) == Some(*v))
    }
}

/// The first workload that matches, preferring the expected namespace, then name matches.
pub fn find<'a>(
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

pub fn name(o: &Value) -> &str {
    str_at(o, "/metadata/name").unwrap_or("?")
}

pub fn namespace(o: &Value) -> &str {
    str_at(o, "/metadata/namespace").unwrap_or("default")
}

pub fn kind(o: &Value) -> &str {
    o["kind"].as_str().unwrap_or("Deployment")
}

/// `namespace/name`.
pub fn ref_of(o: &Value) -> String {
    format!("{}/{}", namespace(o), name(o))
}

/// The ServiceAccount a workload's pods run as.
pub fn service_account(w: &Value) -> &str {
    str_at(w, "/spec/template/spec/serviceAccountName")
        .or_else(|| str_at(w, "/spec/template/spec/serviceAccount"))
        .unwrap_or("default")
}

/// Ready and wanted replicas (pods for a DaemonSet).
pub fn readiness(w: &Value) -> (i64, i64) {
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

pub fn is_ready(w: &Value) -> bool {
    let (ready, want) = readiness(w);
    if kind(w) == "DaemonSet" {
        return want > 0 && ready >= want;
    }
    ready >= want
}

/// True when every `matchLabels` entry of a selector is on the object.
pub fn selector_matches(selector: &Value, obj: &Value) -> bool {
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
pub fn pods_of<'a>(w: &Value, ns: &'a NamespaceObjects) -> Vec<&'a Value> {
    ns.pods
        .iter()
        .filter(|p| selector_matches(&w["spec"]["selector"], p))
        .collect()
}

/// Warning events about an object, newest last, at most `max`.
pub fn warnings_for<'a>(events: &'a [Value], kind: &str, name: &str, max: usize) -> Vec<&'a Value> {
    let mut ev: Vec<&Value> = events
        .iter()
        .filter(|e| {
            str_at(e, "/involvedObject/kind") == Some(kind)
                && str_at(e, "/involvedObject/name") == Some(name)
                && str_at(e, "/type") != Some("Normal")
        })
        .collect();
    ev.sort_by_key(|e| event_time(e).to_string());
    let start = ev.len().saturating_sub(max);
    ev[start..].to_vec()
}

/// Every event about an object, newest last, at most `max`.
pub fn events_for<'a>(events: &'a [Value], kind: &str, name: &str, max: usize) -> Vec<&'a Value> {
    let mut ev: Vec<&Value> = events
        .iter()
        .filter(|e| {
            str_at(e, "/involvedObject/kind") == Some(kind)
                && str_at(e, "/involvedObject/name") == Some(name)
        })
        .collect();
    ev.sort_by_key(|e| event_time(e).to_string());
    let start = ev.len().saturating_sub(max);
    ev[start..].to_vec()
}

fn event_time(e: &Value) -> &str {
    str_at(e, "/lastTimestamp")
        .or_else(|| str_at(e, "/eventTime"))
        .or_else(|| str_at(e, "/metadata/creationTimestamp"))
        .unwrap_or("")
}

/// One event as a line: `Warning FailedScheduling (x3): message`.
pub fn event_line(e: &Value) -> String {
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

/// What kind of trouble a pod is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    InitFailed,
    CrashLoop,
    ImagePull,
    ContainerConfig,
    Unschedulable,
    ProbeFailing,
    MountFailed,
    NotReady,
    Exited,
}

/// One thing wrong with a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodProblem {
    pub pod: String,
    pub container: Option<String>,
    pub trouble: Trouble,
    pub message: String,
    /// Logs worth reading: (container, previous run).
    pub logs: Option<(String, bool)>,
}

impl PodProblem {
    pub fn line(&self) -> String {
        match &self.container {
            Some(c) => format!("pod {} container {c}: {}", self.pod, self.message),
            None => format!("pod {}: {}", self.pod, self.message),
        }
    }
}

fn terminated_text(t: &Value) -> Option<String> {
    let code = t["exitCode"].as_i64()?;
    if code == 0 {
        return None;
    }
    let msg = str_at(t, "/message")
        .map(str::trim)
        .filter(|m| !m.is_empty());
    let reason = str_at(t, "/reason").unwrap_or("Error");
    Some(match msg {
        Some(m) => format!("{m} (exit code {code})"),
        None => format!("exited with code {code} ({reason})"),
    })
}

/// Everything wrong with one pod, from its status and its events.
pub fn diagnose_pod(pod: &Value, events: &[Value]) -> Vec<PodProblem> {
    let pname = name(pod).to_string();
    let mut out = Vec::new();
    let mk = |container: Option<&str>, trouble, message: String, logs: Option<(String, bool)>| {
        PodProblem {
            pod: pname.clone(),
            container: container.map(str::to_string),
            trouble,
            message,
            logs,
        }
    };
    let pod_warnings = warnings_for(events, "Pod", &pname, 20);
    // Scheduling
    let phase = str_at(pod, "/status/phase").unwrap_or("Pending");
    if phase == "Pending" {
        let cond = pod["status"]["conditions"].as_array().and_then(|cs| {
            cs.iter().find(|c| {
                str_at(c, "/type") == Some("PodScheduled") && str_at(c, "/status") == Some("False")
            })
        });
        let ev = pod_warnings
            .iter()
            .rev()
            .find(|e| str_at(e, "/reason") == Some("FailedScheduling"));
        let msg = ev
            .and_then(|e| str_at(e, "/message"))
            .or_else(|| cond.and_then(|c| str_at(c, "/message")));
        if let Some(m) = msg {
            let times = ev
                .and_then(|e| e["count"].as_i64())
                .filter(|n| *n > 1)
                .map(|n| format!(" (FailedScheduling x{n})"))
                .unwrap_or_default();
            out.push(mk(
                None,
                Trouble::Unschedulable,
                format!("cannot be scheduled: {}{times}", m.trim()),
                None,
            ));
        }
    }
    // Init containers
    for cs in pod["status"]["initContainerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let c = str_at(cs, "/name").unwrap_or("?");
        let waiting = str_at(cs, "/state/waiting/reason");
        if let Some(r @ ("ImagePullBackOff" | "ErrImagePull" | "InvalidImageName")) = waiting {
            let m = str_at(cs, "/state/waiting/message").unwrap_or("");
            out.push(mk(
                Some(c),
                Trouble::ImagePull,
                format!("{r}: {}", m.trim()),
                None,
            ));
            continue;
        }
        let failed = terminated_text(&cs["state"]["terminated"])
            .or_else(|| terminated_text(&cs["lastState"]["terminated"]));
        if let Some(t) = failed {
            let restarts = cs["restartCount"].as_i64().unwrap_or(0);
            let tail = if waiting == Some("CrashLoopBackOff") {
                format!(" [CrashLoopBackOff, {restarts} restarts]")
            } else {
                String::new()
            };
            out.push(mk(
                Some(c),
                Trouble::InitFailed,
                format!("init container failed: {t}{tail}"),
                Some((c.to_string(), false)),
            ));
        }
    }
    // Containers
    for cs in pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let c = str_at(cs, "/name").unwrap_or("?");
        let restarts = cs["restartCount"].as_i64().unwrap_or(0);
        match str_at(cs, "/state/waiting/reason") {
            Some("CrashLoopBackOff") => {
                let last = terminated_text(&cs["lastState"]["terminated"])
                    .map(|t| format!("; last run {t}"))
                    .unwrap_or_default();
                out.push(mk(
                    Some(c),
                    Trouble::CrashLoop,
                    format!("CrashLoopBackOff ({restarts} restarts){last}"),
                    Some((c.to_string(), true)),
                ));
                continue;
            }
            Some(r @ ("ImagePullBackOff" | "ErrImagePull" | "InvalidImageName")) => {
                let m = str_at(cs, "/state/waiting/message").unwrap_or("");
                out.push(mk(
                    Some(c),
                    Trouble::ImagePull,
                    format!("{r}: {}", m.trim()),
                    None,
                ));
                continue;
            }
            Some(
                r @ ("CreateContainerConfigError" | "CreateContainerError" | "RunContainerError"),
            ) => {
                let m = str_at(cs, "/state/waiting/message").unwrap_or("");
                out.push(mk(
                    Some(c),
                    Trouble::ContainerConfig,
                    format!("{r}: {}", m.trim()),
                    None,
                ));
                continue;
            }
            _ => {}
        }
        if let Some(t) = terminated_text(&cs["state"]["terminated"]) {
            out.push(mk(
                Some(c),
                Trouble::Exited,
                format!("exited: {t}"),
                Some((c.to_string(), false)),
            ));
            continue;
        }
        let running = cs["state"]["running"].is_object();
        let ready = cs["ready"].as_bool().unwrap_or(false);
        if running && !ready {
            let probe = pod_warnings
                .iter()
                .rev()
                .find(|e| str_at(e, "/reason") == Some("Unhealthy"));
            match probe {
                Some(e) => out.push(mk(
                    Some(c),
                    Trouble::ProbeFailing,
                    format!(
                        "running but not ready: {}",
                        str_at(e, "/message").unwrap_or("").trim()
                    ),
                    Some((c.to_string(), false)),
                )),
                None => out.push(mk(
                    Some(c),
                    Trouble::NotReady,
                    "running but not ready".into(),
                    Some((c.to_string(), false)),
                )),
            }
        }
    }
    // Volumes
    if let Some(e) = pod_warnings.iter().rev().find(|e| {
        matches!(
            str_at(e, "/reason"),
            Some("FailedMount" | "FailedAttachVolume")
        )
    }) {
        out.push(mk(
            None,
            Trouble::MountFailed,
            format!(
                "volume mount failed: {}",
                str_at(e, "/message").unwrap_or("").trim()
            ),
            None,
        ));
    }
    out
}

/// The last lines a container logged, as a detail; for a crashed container its previous run's
/// (falling back to the current run when the kubelet kept no previous one).
pub fn log_tail(facts: &Facts, ns: &str, pod: &str, c: &str, previous: bool) -> Option<String> {
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
pub fn why_not_ready(facts: &Facts, w: &Value) -> (Vec<PodProblem>, Vec<String>) {
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
        let found = diagnose_pod(p, &objects.events);
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
        for e in warnings_for(&objects.events, "Pod", name(p), 3) {
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

    fn pod(status: Value) -> Value {
        json!({"kind": "Pod", "metadata": {"name": "p1", "namespace": "ns", "labels": {"app": "m"}}, "status": status})
    }

    #[test]
    fn init_container_termination_message_is_the_finding() {
        let p = pod(json!({
            "phase": "Pending",
            "initContainerStatuses": [{
                "name": "check-csi-drivers", "restartCount": 3,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                    "message": "S3 CSI driver not installed (missing CSIDriver s3.csi.aws.com)"}}
            }]
        }));
        let d = diagnose_pod(&p, &[]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].trouble, Trouble::InitFailed);
        assert_eq!(d[0].container.as_deref(), Some("check-csi-drivers"));
        assert!(
            d[0].message.contains("missing CSIDriver s3.csi.aws.com"),
            "{}",
            d[0].message
        );
        assert!(
            d[0].message.contains("CrashLoopBackOff"),
            "{}",
            d[0].message
        );
    }

    #[test]
    fn crash_loops_image_pulls_and_scheduling() {
        let p = pod(json!({
            "phase": "Running",
            "containerStatuses": [
                {"name": "manager", "restartCount": 5, "ready": false,
                 "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
                 "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}}},
                {"name": "side", "ready": false,
                 "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"x\""}}}
            ]
        }));
        let d = diagnose_pod(&p, &[]);
        assert_eq!(d[0].trouble, Trouble::CrashLoop);
        assert_eq!(d[0].logs, Some(("manager".into(), true)));
        assert!(
            d[0].message.contains("exited with code 2"),
            "{}",
            d[0].message
        );
        assert_eq!(d[1].trouble, Trouble::ImagePull);

        let pending = pod(json!({"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
             "message": "0/2 nodes are available: 2 Insufficient nvidia.com/gpu."}]}));
        let d = diagnose_pod(&pending, &[]);
        assert_eq!(d[0].trouble, Trouble::Unschedulable);
        assert!(d[0].message.contains("Insufficient nvidia.com/gpu"));
    }

    #[test]
    fn probe_failures_come_from_events() {
        let p = pod(json!({"phase": "Running", "containerStatuses": [
            {"name": "manager", "ready": false, "state": {"running": {}}}]}));
        let ev = vec![
            json!({"type": "Warning", "reason": "Unhealthy", "message": "Readiness probe failed: HTTP probe failed with statuscode: 500",
            "involvedObject": {"kind": "Pod", "name": "p1"}, "lastTimestamp": "2026-01-01T00:00:00Z"}),
        ];
        let d = diagnose_pod(&p, &ev);
        assert_eq!(d[0].trouble, Trouble::ProbeFailing);
        assert!(d[0].message.contains("Readiness probe failed"));
    }

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
