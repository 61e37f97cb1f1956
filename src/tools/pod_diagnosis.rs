//! One reading of a Kubernetes pod (kubectl's JSON): what is wrong with it, or what it waits
//! for, from its status and its events. `deploy` (describe, the failure diagnosis) and `doctor`
//! (workloads, models) both use `diagnose`.

use serde_json::Value;

use super::kube::str_at;

/// What a pod finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trouble {
    InitFailed,
    CrashLoop,
    ImagePull,
    ContainerConfig,
    Unschedulable,
    ProbeFailing,
    MountFailed,
    NotReady,
    Exited,
    /// A container waits for something that is not a fault (ContainerCreating, PodInitializing).
    Waiting,
    /// The pod's own status reason (e.g. Evicted), when nothing else explains it.
    PodReason,
}

impl Trouble {
    /// A fault to report (not a state a healthy pod passes through).
    pub(crate) fn is_problem(self) -> bool {
        !matches!(self, Trouble::Waiting | Trouble::PodReason)
    }

    /// Explains why a pod is not running (a running pod that is not ready yet is not stuck).
    pub(crate) fn explains_not_running(self) -> bool {
        !matches!(self, Trouble::NotReady | Trouble::ProbeFailing)
    }
}

/// One thing found about a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PodProblem {
    pub pod: String,
    pub container: Option<String>,
    pub trouble: Trouble,
    /// What happened, in a sentence.
    pub message: String,
    /// Kubernetes's own reason (`ImagePullBackOff`, `Unschedulable`, `OOMKilled`...).
    pub reason: String,
    /// Kubernetes's own message with that reason, if any.
    pub detail: Option<String>,
    /// Logs worth reading: (container, previous run).
    pub logs: Option<(String, bool)>,
}

impl PodProblem {
    pub(crate) fn line(&self) -> String {
        match &self.container {
            Some(c) => format!("pod {} container {c}: {}", self.pod, self.message),
            None => format!("pod {}: {}", self.pod, self.message),
        }
    }
}

/// Which of an object's events [`events_of`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Events {
    All,
    /// Every type but `Normal`.
    Warnings,
}

/// The `which` events about an object, newest last, at most `max`.
pub(crate) fn events_of<'a>(
    events: &'a [Value],
    kind: &str,
    name: &str,
    which: Events,
    max: usize,
) -> Vec<&'a Value> {
    let keep = |e: &Value| which == Events::All || str_at(e, "/type") != Some("Normal");
    let mut ev: Vec<&Value> = events
        .iter()
        .filter(|e| {
            str_at(e, "/involvedObject/kind") == Some(kind)
                && str_at(e, "/involvedObject/name") == Some(name)
                && keep(e)
        })
        .collect();
    ev.sort_by_key(|e| event_time(e).to_string());
    let start = ev.len().saturating_sub(max);
    ev[start..].to_vec()
}

/// When an event last happened (RFC 3339), for ordering.
pub(crate) fn event_time(e: &Value) -> &str {
    str_at(e, "/lastTimestamp")
        .or_else(|| str_at(e, "/eventTime"))
        .or_else(|| str_at(e, "/metadata/creationTimestamp"))
        .unwrap_or("")
}

/// A non-empty string at a pointer.
fn text_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    str_at(v, pointer).filter(|s| !s.is_empty())
}

/// A failed termination (non-zero exit): the sentence, the reason and the detail.
fn terminated(t: &Value) -> Option<(String, String, String)> {
    let code = t["exitCode"].as_i64()?;
    if code == 0 {
        return None;
    }
    let msg = str_at(t, "/message")
        .map(str::trim)
        .filter(|m| !m.is_empty());
    let reason = str_at(t, "/reason").unwrap_or("Error");
    let sentence = match msg {
        Some(m) => format!("{m} (exit code {code})"),
        None => format!("exited with code {code} ({reason})"),
    };
    let detail = text_at(t, "/message")
        .map(str::to_string)
        .unwrap_or_else(|| format!("exit code {code}"));
    Some((sentence, reason.to_string(), detail))
}

/// Everything found about one pod, faults first in the order a person reads them: scheduling,
/// init containers, containers, volumes, then the pod's own status reason. Findings that are
/// not faults (`Trouble::is_problem`) say what the pod waits for.
pub(crate) fn diagnose(pod: &Value, events: &[Value]) -> Vec<PodProblem> {
    let pname = str_at(pod, "/metadata/name").unwrap_or("?").to_string();
    let mut out = Vec::new();
    let mut mk = |container: Option<&str>,
                  trouble,
                  message: String,
                  (reason, detail): (&str, Option<&str>),
                  logs: Option<(String, bool)>| {
        out.push(PodProblem {
            pod: pname.clone(),
            container: container.map(str::to_string),
            trouble,
            message,
            reason: reason.to_string(),
            detail: detail.map(str::to_string),
            logs,
        })
    };
    let pod_warnings = events_of(
        events,
        "Pod",
        str_at(pod, "/metadata/name").unwrap_or("?"),
        Events::Warnings,
        20,
    );
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
            let reason = cond
                .and_then(|c| text_at(c, "/reason"))
                .unwrap_or("Unschedulable");
            mk(
                None,
                Trouble::Unschedulable,
                format!("cannot be scheduled: {}{times}", m.trim()),
                (reason, Some(m).filter(|m| !m.is_empty())),
                None,
            );
        } else if let Some(c) = cond {
            let reason = text_at(c, "/reason").unwrap_or("Unschedulable");
            mk(
                None,
                Trouble::Waiting,
                "not scheduled yet".into(),
                (reason, None),
                None,
            );
        }
    }
    let statuses =
        |key: &str| -> Vec<Value> { pod["status"][key].as_array().cloned().unwrap_or_default() };
    // Init containers
    for cs in &statuses("initContainerStatuses") {
        let c = str_at(cs, "/name").unwrap_or("?");
        let waiting = text_at(cs, "/state/waiting/reason");
        let wmsg = text_at(cs, "/state/waiting/message");
        if let Some(r) = waiting.filter(|r| waiting_fault(r) == Some(Trouble::ImagePull)) {
            fault(&mut mk, c, Trouble::ImagePull, r, wmsg);
            continue;
        }
        let failed = terminated(&cs["state"]["terminated"])
            .or_else(|| terminated(&cs["lastState"]["terminated"]));
        if let Some((t, treason, tdetail)) = failed {
            let restarts = cs["restartCount"].as_i64().unwrap_or(0);
            let tail = if waiting == Some("CrashLoopBackOff") {
                format!(" [CrashLoopBackOff, {restarts} restarts]")
            } else {
                String::new()
            };
            let why = match waiting {
                Some(r) => (r, wmsg),
                None => (treason.as_str(), Some(tdetail.as_str())),
            };
            mk(
                Some(c),
                Trouble::InitFailed,
                format!("init container failed: {t}{tail}"),
                why,
                Some((c.to_string(), false)),
            );
        } else if let Some(r) = waiting {
            waiting_for(&mut mk, c, r, wmsg);
        }
    }
    // Containers
    for cs in &statuses("containerStatuses") {
        let c = str_at(cs, "/name").unwrap_or("?");
        let restarts = cs["restartCount"].as_i64().unwrap_or(0);
        let wmsg = text_at(cs, "/state/waiting/message");
        match text_at(cs, "/state/waiting/reason") {
            Some(r @ "CrashLoopBackOff") => {
                let last = terminated(&cs["lastState"]["terminated"])
                    .map(|(t, _, _)| format!("; last run {t}"))
                    .unwrap_or_default();
                mk(
                    Some(c),
                    Trouble::CrashLoop,
                    format!("CrashLoopBackOff ({restarts} restarts){last}"),
                    (r, wmsg),
                    Some((c.to_string(), true)),
                );
                continue;
            }
            Some(r) => {
                match waiting_fault(r) {
                    Some(t) => fault(&mut mk, c, t, r, wmsg),
                    None => waiting_for(&mut mk, c, r, wmsg),
                }
                continue;
            }
            None => {}
        }
        if let Some((t, treason, tdetail)) = terminated(&cs["state"]["terminated"]) {
            mk(
                Some(c),
                Trouble::Exited,
                format!("exited: {t}"),
                (&treason, Some(&tdetail)),
                Some((c.to_string(), false)),
            );
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
                Some(e) => mk(
                    Some(c),
                    Trouble::ProbeFailing,
                    format!(
                        "running but not ready: {}",
                        str_at(e, "/message").unwrap_or("").trim()
                    ),
                    ("Unhealthy", text_at(e, "/message")),
                    Some((c.to_string(), false)),
                ),
                None => mk(
                    Some(c),
                    Trouble::NotReady,
                    "running but not ready".into(),
                    ("NotReady", None),
                    Some((c.to_string(), false)),
                ),
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
        mk(
            None,
            Trouble::MountFailed,
            format!(
                "volume mount failed: {}",
                str_at(e, "/message").unwrap_or("").trim()
            ),
            (str_at(e, "/reason").unwrap_or(""), text_at(e, "/message")),
            None,
        );
    }
    // The pod's own reason (Evicted, NodeLost...)
    if let Some(r) = text_at(pod, "/status/reason") {
        let m = text_at(pod, "/status/message");
        mk(
            None,
            Trouble::PodReason,
            match m {
                Some(m) => format!("{r}: {m}"),
                None => r.to_string(),
            },
            (r, m),
            None,
        );
    }
    out
}

/// The fault a container's waiting reason means, if it is one (CrashLoopBackOff aside).
fn waiting_fault(reason: &str) -> Option<Trouble> {
    match reason {
        "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" => Some(Trouble::ImagePull),
        "CreateContainerConfigError" | "CreateContainerError" | "RunContainerError" => {
            Some(Trouble::ContainerConfig)
        }
        _ => None,
    }
}

/// A container waiting because of a fault: `REASON: message`.
fn fault(
    mk: &mut impl FnMut(Option<&str>, Trouble, String, (&str, Option<&str>), Option<(String, bool)>),
    c: &str,
    t: Trouble,
    r: &str,
    m: Option<&str>,
) {
    mk(
        Some(c),
        t,
        format!("{r}: {}", m.unwrap_or("").trim()),
        (r, m),
        None,
    );
}

/// A container waiting for a reason that is not a fault.
fn waiting_for(
    mk: &mut impl FnMut(Option<&str>, Trouble, String, (&str, Option<&str>), Option<(String, bool)>),
    c: &str,
    r: &str,
    m: Option<&str>,
) {
    mk(
        Some(c),
        Trouble::Waiting,
        format!("waiting: {r}"),
        (r, m),
        None,
    );
}

/// The faults of one pod (what `diagnose` finds, without the states it passes through).
pub(crate) fn problems(pod: &Value, events: &[Value]) -> Vec<PodProblem> {
    diagnose(pod, events)
        .into_iter()
        .filter(|p| p.trouble.is_problem())
        .collect()
}

/// Why a pod is not running, as Kubernetes says it: its first finding that explains it.
pub(crate) fn why_not_running(pod: &Value) -> Option<(String, Option<String>)> {
    diagnose(pod, &[])
        .into_iter()
        .find(|p| p.trouble.explains_not_running())
        .map(|p| (p.reason, p.detail))
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
        let d = diagnose(&p, &[]);
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
        let d = diagnose(&p, &[]);
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
        let d = diagnose(&pending, &[]);
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
        let d = diagnose(&p, &ev);
        assert_eq!(d[0].trouble, Trouble::ProbeFailing);
        assert!(d[0].message.contains("Readiness probe failed"));
    }

    #[test]
    fn kubernetes_words_say_why_a_pod_is_not_running() {
        let p = pod(json!({"phase": "Pending",
            "initContainerStatuses": [{"name": "init", "state": {"running": {}}}],
            "containerStatuses": [{"name": "c", "ready": false,
                "state": {"waiting": {"reason": "PodInitializing"}}}]}));
        let found = diagnose(&p, &[]);
        assert_eq!(found[0].trouble, Trouble::Waiting);
        assert!(problems(&p, &[]).is_empty());
        assert_eq!(why_not_running(&p), Some(("PodInitializing".into(), None)));

        let oom = pod(
            json!({"phase": "Running", "containerStatuses": [{"name": "c",
            "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}),
        );
        assert_eq!(
            why_not_running(&oom),
            Some(("OOMKilled".into(), Some("exit code 137".into())))
        );
        let loading = pod(
            json!({"phase": "Running", "containerStatuses": [{"name": "c",
            "ready": false, "state": {"running": {}}}]}),
        );
        assert_eq!(problems(&loading, &[])[0].trouble, Trouble::NotReady);
        assert_eq!(why_not_running(&loading), None);
        // Better than the rule deploy had: an init container running again after a failed run.
        let retrying = pod(
            json!({"phase": "Pending", "initContainerStatuses": [{"name": "init",
            "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
            "message": "no CSI driver"}}}]}),
        );
        assert_eq!(
            why_not_running(&retrying),
            Some(("Error".into(), Some("no CSI driver".into())))
        );
        let unscheduled = pod(json!({"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}));
        assert!(problems(&unscheduled, &[]).is_empty());
        assert_eq!(
            why_not_running(&unscheduled),
            Some(("SchedulingGated".into(), None))
        );
        let evicted =
            pod(json!({"phase": "Failed", "reason": "Evicted", "message": "low on memory"}));
        assert!(problems(&evicted, &[]).is_empty());
        assert_eq!(
            why_not_running(&evicted),
            Some(("Evicted".into(), Some("low on memory".into())))
        );
    }
}
