//! HP8xx: each model resource (JumpStartModel, InferenceEndpointConfig): its deployment state,
//! and when it is stuck or failed, why: the operator's reason, events, and its pods' states.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

use super::gpus::{is_gpu_instance, pod_gpus};
use crate::deploy::kind::ModelKind;
use crate::deploy::model::Model;
use crate::deploy::model::{node_gpus, node_instance_type, GPU};
use crate::doctor::facts::{Facts, NamespaceObjects};
use crate::doctor::report::{Fix, Outcome};
use crate::doctor::runner::Problem;
use crate::doctor::workloads::{self, event_line};
use crate::exec::Cmd;
use crate::install::OPERATOR_WORKLOAD;
use crate::tools::kube::{self, str_at, Deletion};
use crate::tools::pod_diagnosis::{self, events_of, Events, PodProblem, Trouble};

pub(crate) const JSM: &str = ModelKind::JumpStartModel.resource();
pub(crate) const IEC: &str = ModelKind::InferenceEndpointConfig.resource();

/// The resource name kubectl needs for a model object.
pub(crate) fn resource_of(m: &Value) -> &'static str {
    spec(m).resource.kind.resource()
}

/// The model's spec, typed (an object of neither kind is read as a JumpStartModel).
pub(crate) fn spec(m: &Value) -> Model {
    Model::read(m).unwrap_or_else(|| Model::read_as(ModelKind::JumpStartModel, m))
}

pub(crate) fn state(m: &Value) -> Option<&str> {
    str_at(m, "/status/deploymentStatus/deploymentObjectOverallState")
        .or_else(|| str_at(m, "/status/state"))
        .filter(|s| !s.is_empty())
}

/// The operator's explanation: deploymentStatus reason/message, else the newest condition's.
fn reason(m: &Value) -> Option<String> {
    let r = str_at(m, "/status/deploymentStatus/reason").filter(|s| !s.is_empty());
    let msg = str_at(m, "/status/deploymentStatus/message").filter(|s| !s.is_empty());
    let (r, msg) = match (r, msg) {
        (None, None) => {
            let c = m["status"]["conditions"].as_array().and_then(|cs| {
                cs.iter()
                    .filter(|c| str_at(c, "/status") == Some("True"))
                    .max_by_key(|c| str_at(c, "/lastTransitionTime").unwrap_or("").to_string())
            })?;
            (str_at(c, "/reason"), str_at(c, "/message"))
        }
        other => other,
    };
    match (r, msg) {
        (Some(r), Some(m)) if m.starts_with(r) => Some(m.to_string()),
        (Some(r), Some(m)) => Some(format!("{r}: {m}")),
        (Some(r), None) => Some(r.to_string()),
        (None, Some(m)) => Some(m.to_string()),
        (None, None) => None,
    }
}

/// Seconds since an RFC 3339 timestamp (`2026-11-23T10:00:00Z`, fractions allowed).
pub(crate) fn age_secs(ts: &str, now: i64) -> Option<i64> {
    crate::time::parse_rfc3339(ts).map(|t| now - t)
}

fn minutes(secs: i64) -> String {
    if secs < 120 {
        format!("{secs}s")
    } else {
        format!("{}m", secs / 60)
    }
}

/// A model's own pods (the operator labels them `app=<model>`).
pub(crate) fn pods_of<'a>(m: &Value, ns: &'a NamespaceObjects) -> Vec<&'a Value> {
    let name = workloads::name(m);
    ns.pods
        .iter()
        .filter(|p| p["metadata"]["labels"]["app"].as_str() == Some(name))
        .collect()
}

fn pod_ready(p: &Value) -> bool {
    p["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| str_at(c, "/type") == Some("Ready") && str_at(c, "/status") == Some("True"))
    })
}

/// Free GPUs per node: allocatable minus what running and pending-bound pods ask for.
pub(crate) fn free_gpus(nodes: &[Value], pods: &[Value]) -> Vec<(String, Option<String>, i64)> {
    let mut used: BTreeMap<&str, i64> = BTreeMap::new();
    for p in pods {
        let phase = str_at(p, "/status/phase").unwrap_or("");
        if matches!(phase, "Succeeded" | "Failed") {
            continue;
        }
        if let Some(n) = str_at(p, "/spec/nodeName") {
            *used.entry(n).or_default() += pod_gpus(p);
        }
    }
    nodes
        .iter()
        .filter(|n| node_gpus(n) > 0)
        .map(|n| {
            let name = workloads::name(n);
            (
                name.to_string(),
                node_instance_type(n).map(str::to_string),
                node_gpus(n) - used.get(name).copied().unwrap_or(0),
            )
        })
        .collect()
}

/// What to change so a GPU model fits: another instance type with room, or fewer replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GpuPlan {
    InstanceType(String),
    Replicas(i64),
    /// Nothing fits: the most GPUs free on one node.
    NoRoom {
        per_replica: i64,
        most_free: i64,
    },
}

pub(crate) fn gpu_plan(
    want_type: Option<&str>,
    per_replica: i64,
    desired: i64,
    running: i64,
    free: &[(String, Option<String>, i64)],
) -> GpuPlan {
    let fits = |t: Option<&str>| -> i64 {
        free.iter()
            .filter(|(_, nt, _)| t.is_none() || nt.as_deref() == t)
            .map(|(_, _, f)| (*f).max(0) / per_replica)
            .sum()
    };
    let mut types: Vec<&str> = free.iter().filter_map(|(_, t, _)| t.as_deref()).collect();
    types.sort();
    types.dedup();
    if let Some(t) = types
        .iter()
        .find(|t| Some(**t) != want_type && fits(Some(t)) >= desired)
    {
        return GpuPlan::InstanceType(t.to_string());
    }
    let here = running + fits(want_type);
    if here >= 1 && here < desired {
        return GpuPlan::Replicas(here);
    }
    GpuPlan::NoRoom {
        per_replica,
        most_free: free.iter().map(|(_, _, f)| *f).max().unwrap_or(0).max(0),
    }
}

fn patch(f: &Facts, m: &Value, body: &Value) -> Cmd {
    kube::patch_merge(
        &f.ctx.kube,
        "fix",
        resource_of(m),
        (workloads::namespace(m), workloads::name(m)),
        body,
    )
}

fn gpu_fix(f: &Facts, m: &Value, pods: &[&Value]) -> Option<Fix> {
    let per_replica = pods
        .iter()
        .filter(|p| str_at(p, "/status/phase") == Some("Pending"))
        .map(|p| pod_gpus(p))
        .max()
        .filter(|n| *n > 0)?;
    let nodes = f.cluster().ok()?.nodes.clone();
    let all = f.all_pods().ok()?;
    let free = free_gpus(&nodes, &all);
    let running = pods.iter().filter(|p| pod_ready(p)).count() as i64;
    let model = spec(m);
    let want = model.instance_type();
    Some(match gpu_plan(want, per_replica, model.replica_count(), running, &free) {
        GpuPlan::InstanceType(t) => Fix::manual(
            format!(
                "deploy on {t}, whose nodes have {per_replica} free GPUs per replica{}",
                want.map(|w| format!(" ({w} has no room)")).unwrap_or_default()
            ),
            vec![patch(f, m, &model.instance_type_patch(&t))],
        ),
        GpuPlan::Replicas(n) => Fix::manual(
            format!("run {n} replica{} (what the free GPUs hold) until more GPUs are free", if n > 1 { "s" } else { "" }),
            vec![patch(f, m, &json!({"spec": {"replicas": n}}))],
        ),
        GpuPlan::NoRoom { per_replica, most_free } => Fix::advice(format!(
            "each replica needs {per_replica} {GPU} on one node and at most {most_free} are free on any node: free GPUs (delete models you do not need: kubectl hyperpod get) or add GPU instances to the HyperPod cluster{}",
            want.filter(|t| is_gpu_instance(t)).map(|t| format!(" ({t})")).unwrap_or_default()
        )),
    })
}

/// Delete and create again, for a failure whose cause has been dealt with.
fn retry_fix(f: &Facts, m: &Value) -> Fix {
    let mut meta = serde_json::Map::new();
    meta.insert("name".into(), json!(workloads::name(m)));
    meta.insert("namespace".into(), json!(workloads::namespace(m)));
    if let Some(l) = m["metadata"]["labels"]
        .as_object()
        .filter(|l| !l.is_empty())
    {
        meta.insert("labels".into(), Value::Object(l.clone()));
    }
    if let Some(a) = m["metadata"]["annotations"].as_object() {
        let kept: serde_json::Map<String, Value> = a
            .iter()
            .filter(|(k, _)| *k != "kubectl.kubernetes.io/last-applied-configuration")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !kept.is_empty() {
            meta.insert("annotations".into(), Value::Object(kept));
        }
    }
    let manifest = json!({
        "apiVersion": m["apiVersion"],
        "kind": m["kind"],
        "metadata": meta,
        "spec": m["spec"],
    });
    let yaml = crate::ui::to_yaml(&manifest).unwrap_or_else(|_| manifest.to_string());
    let k = &f.ctx.kube;
    Fix::manual(
        "once the cause above is dealt with, delete the failed deployment and create it again",
        vec![
            kube::delete(
                k,
                "fix",
                resource_of(m),
                &[workloads::name(m)],
                Some(workloads::namespace(m)),
                Deletion::waited(Duration::from_secs(600)),
            ),
            kube::apply_text(k, "fix", "model manifest", yaml),
        ],
    )
}

fn describe_fix(f: &Facts, m: &Value, summary: &str) -> Fix {
    Fix::manual(
        summary,
        vec![workloads::describe_cmd(&f.ctx.kube, resource_of(m), m)],
    )
}

fn operator_ready(f: &Facts) -> Option<bool> {
    let objs = f.cluster().ok()?;
    workloads::find(objs.deployments.iter(), &OPERATOR_WORKLOAD).map(workloads::is_ready)
}

/// Judges one model.
pub(crate) fn judge(f: &Facts, m: &Value, now: i64) -> Outcome {
    let kind = m["kind"].as_str().unwrap_or("JumpStartModel");
    let subject = format!("{} {}", kind, workloads::ref_of(m));
    let ns = workloads::namespace(m);
    let name = workloads::name(m);
    let objs = f.namespace(ns);
    let empty = NamespaceObjects::default();
    let (objs, read_err) = match &objs {
        Ok(o) => (o.as_ref(), None),
        Err(e) => (
            &empty,
            Some(format!("could not read its pods and events: {}", e.0)),
        ),
    };
    let pods = pods_of(m, objs);
    let mut problems: Vec<PodProblem> = Vec::new();
    for p in &pods {
        problems.extend(pod_diagnosis::problems(p, &objs.events));
    }
    let mut details: Vec<String> = read_err.into_iter().collect();
    if !pods.is_empty() {
        let states: Vec<String> = pods
            .iter()
            .map(|p| {
                let phase = str_at(p, "/status/phase").unwrap_or("Unknown");
                let ready = if pod_ready(p) { ", ready" } else { "" };
                format!("{} {phase}{ready}", workloads::name(p))
            })
            .collect();
        details.push(format!("pods: {}", states.join("; ")));
    }
    for pr in &problems {
        details.push(pr.line());
        if let Some((c, prev)) = &pr.logs {
            details.extend(workloads::log_tail(f, ns, &pr.pod, c, *prev));
        }
    }
    for e in events_of(&objs.events, kind, name, Events::All, 5) {
        if str_at(e, "/type") == Some("Warning") {
            details.push(format!("event: {}", event_line(e)));
        }
    }
    for p in &pods {
        for e in events_of(&objs.events, "Pod", workloads::name(p), Events::Warnings, 3) {
            let msg = str_at(e, "/message").unwrap_or("");
            if !details.iter().any(|d| !msg.is_empty() && d.contains(msg)) {
                details.push(format!(
                    "event on {}: {}",
                    workloads::name(p),
                    event_line(e)
                ));
            }
        }
    }
    let age = str_at(m, "/metadata/creationTimestamp").and_then(|t| age_secs(t, now));
    let gpu_blocked = problems
        .iter()
        .any(|p| p.trouble == Trouble::Unschedulable && p.message.contains(GPU));
    let problem_fix = |o: Outcome| -> Outcome {
        if gpu_blocked {
            if let Some(fx) = gpu_fix(f, m, &pods) {
                return o.fix(fx);
            }
        }
        o.fix(describe_fix(
            f,
            m,
            "look at the model, its pods and their events",
        ))
    };
    let ready = pods.iter().filter(|p| pod_ready(p)).count();
    let st = state(m);
    let out = match st {
        Some("DeploymentComplete") => {
            let model = spec(m);
            let endpoint = model.endpoint_name.as_deref().map(|e| {
                (
                    e,
                    str_at(m, "/status/endpoints/sagemaker/state").unwrap_or("not reported"),
                )
            });
            match (problems.first(), endpoint) {
                (Some(p), _) => problem_fix(Outcome::warn(format!(
                    "DeploymentComplete, but {}",
                    p.line()
                ))),
                (None, Some((e, s))) if s != "CreationCompleted" => Outcome::warn(format!(
                    "DeploymentComplete, but SageMaker endpoint {e} is {s}"
                ))
                .fix(describe_fix(
                    f,
                    m,
                    "look at the endpoint status the operator reports",
                )),
                (None, e) => Outcome::pass(format!(
                    "DeploymentComplete; {ready}/{} pods ready{}",
                    model.replica_count(),
                    e.map(|(e, s)| format!("; SageMaker endpoint {e} {s}"))
                        .unwrap_or_default()
                )),
            }
        }
        Some("DeploymentFailed") => {
            let why = reason(m).unwrap_or_else(|| "no reason given".into());
            let o = Outcome::fail(format!("DeploymentFailed: {why}"));
            if gpu_blocked {
                problem_fix(o)
            } else {
                o.fix(retry_fix(f, m))
            }
        }
        Some(s @ ("DeploymentPending" | "DeploymentInProgress")) => {
            let limit = spec(m).deploy_deadline_seconds() as i64;
            let since = age
                .map(|a| format!(" for {}", minutes(a)))
                .unwrap_or_default();
            if let Some(p) = problems.first() {
                problem_fix(Outcome::fail(format!("{s}{since}; {}", p.line())))
            } else if age.is_some_and(|a| a > limit) {
                Outcome::fail(format!(
                    "stuck in {s}{since} (maxDeployTimeInSeconds {limit})"
                ))
                .fix(describe_fix(
                    f,
                    m,
                    "look at the operator's reason and events",
                ))
            } else if operator_ready(f) == Some(false) {
                Outcome::warn(format!(
                    "{s}{since}; the operator is not ready (HP503), so it cannot progress"
                ))
                .fix(describe_fix(f, m, "fix HP503 first"))
            } else {
                Outcome::pass(format!(
                    "{s}{since} (limit {}); nothing wrong found yet",
                    minutes(limit)
                ))
            }
        }
        Some("DeletionFailed") => Outcome::fail(format!(
            "DeletionFailed: {}",
            reason(m).unwrap_or_else(|| "no reason given".into())
        ))
        .fix(describe_fix(
            f,
            m,
            "the operator could not release what it created; its reason and events say why",
        )),
        Some(s @ ("DeletionPending" | "DeletionInProgress" | "DeletionComplete")) => {
            Outcome::warn(format!("being deleted ({s})")).fix(describe_fix(
                f,
                m,
                "wait for the operator to finish, or look at why it does not",
            ))
        }
        Some(other) => Outcome::warn(format!("unknown state {other}")).fix(describe_fix(
            f,
            m,
            "look at the status the operator reports",
        )),
        None => {
            let since = age
                .map(|a| format!(" after {}", minutes(a)))
                .unwrap_or_default();
            if operator_ready(f) == Some(false) {
                Outcome::warn(format!(
                    "no status{since}: the operator is not ready (HP503)"
                ))
                .fix(describe_fix(f, m, "fix HP503 first"))
            } else if age.is_some_and(|a| a > 120) {
                Outcome::warn(format!(
                    "no status{since}: the operator has not picked it up"
                ))
                .fix(Fix::manual(
                    "read the operator's logs",
                    vec![kube::logs_tail(
                        &f.ctx.kube,
                        "inspect",
                        (
                            crate::install::names::OPERATOR_NAMESPACE,
                            &format!("deployment/{}", crate::install::names::OPERATOR_DEPLOYMENT),
                        ),
                        "manager",
                        50,
                    )],
                ))
            } else {
                Outcome::pass(format!("just created{since}; no status yet"))
            }
        }
    };
    out.subject(subject).details(details)
}

/// HP801: every model, or the one named on the command line.
pub(crate) fn check(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    let all = f.models()?;
    let wanted: Vec<&Value> = all
        .iter()
        .filter(|m| match &f.cfg.model {
            Some(name) => {
                workloads::name(m) == name
                    && f.cfg
                        .model_namespace
                        .as_deref()
                        .is_none_or(|ns| workloads::namespace(m) == ns)
            }
            None => true,
        })
        .collect();
    if wanted.is_empty() {
        return Ok(vec![match &f.cfg.model {
            Some(name) => Outcome::fail(format!(
                "no JumpStartModel or InferenceEndpointConfig named {name}{}",
                f.cfg
                    .model_namespace
                    .as_deref()
                    .map(|n| format!(" in namespace {n}"))
                    .unwrap_or_default()
            ))
            .subject(name.clone())
            .fix(Fix::manual(
                "list the model resources of the cluster",
                vec![kube::list_table(
                    &f.ctx.kube,
                    "list",
                    &format!("{JSM},{IEC}"),
                )],
            )),
            None => Outcome::pass("no model resources deployed"),
        }]);
    }
    // Each namespace's pods and events are one call; fetch them side by side.
    let mut namespaces: Vec<&str> = wanted.iter().map(|m| workloads::namespace(m)).collect();
    namespaces.sort();
    namespaces.dedup();
    std::thread::scope(|s| {
        for ns in &namespaces {
            s.spawn(move || {
                let _ = f.namespace(ns);
            });
        }
    });
    let now = crate::time::now();
    Ok(wanted.iter().map(|m| judge(f, m, now)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_read_as_utc() {
        let now = age_secs("2026-11-23T10:00:00Z", 0).map(|a| -a).unwrap();
        assert_eq!(age_secs("2026-11-23T09:58:00Z", now), Some(120));
        assert_eq!(age_secs("2026-11-22T10:00:00.123Z", now), Some(86400));
        assert_eq!(age_secs("1970-01-01T00:00:00Z", 5), Some(5));
        assert_eq!(age_secs("bad", 0), None);
    }

    fn free(list: &[(&str, &str, i64)]) -> Vec<(String, Option<String>, i64)> {
        list.iter()
            .map(|(n, t, f)| (n.to_string(), Some(t.to_string()), *f))
            .collect()
    }

    #[test]
    fn gpu_plans() {
        // Another instance type has room for all replicas.
        let fr = free(&[("a", "ml.g5.12xlarge", 0), ("b", "ml.g5.48xlarge", 8)]);
        assert_eq!(
            gpu_plan(Some("ml.g5.12xlarge"), 4, 2, 0, &fr),
            GpuPlan::InstanceType("ml.g5.48xlarge".into())
        );
        // Room for one of two replicas on the wanted type.
        let fr = free(&[("a", "ml.g5.12xlarge", 4), ("b", "ml.g5.12xlarge", 2)]);
        assert_eq!(
            gpu_plan(Some("ml.g5.12xlarge"), 4, 2, 0, &fr),
            GpuPlan::Replicas(1)
        );
        // No room at all.
        let fr = free(&[("a", "ml.g5.12xlarge", 2)]);
        assert_eq!(
            gpu_plan(Some("ml.g5.12xlarge"), 4, 1, 0, &fr),
            GpuPlan::NoRoom {
                per_replica: 4,
                most_free: 2
            }
        );
    }

    #[test]
    fn free_gpus_subtract_what_pods_use() {
        let nodes = vec![
            json!({"metadata": {"name": "n1", "labels": {"node.kubernetes.io/instance-type": "ml.g5.12xlarge"}}, "status": {"allocatable": {"nvidia.com/gpu": "4"}}}),
            json!({"metadata": {"name": "n2"}, "status": {"allocatable": {}}}),
        ];
        let pods = vec![
            json!({"spec": {"nodeName": "n1", "containers": [{"resources": {"limits": {"nvidia.com/gpu": "3"}}}]}, "status": {"phase": "Running"}}),
            json!({"spec": {"nodeName": "n1", "containers": [{"resources": {"limits": {"nvidia.com/gpu": "1"}}}]}, "status": {"phase": "Succeeded"}}),
        ];
        assert_eq!(
            free_gpus(&nodes, &pods),
            vec![("n1".to_string(), Some("ml.g5.12xlarge".to_string()), 1)]
        );
    }

    #[test]
    fn reasons_prefer_the_deployment_status() {
        let m = json!({"status": {"deploymentStatus": {"reason": "ModelDeploymentFailed", "message": "insufficient capacity"}}});
        assert_eq!(
            reason(&m).unwrap(),
            "ModelDeploymentFailed: insufficient capacity"
        );
        let c = json!({"status": {"conditions": [
            {"type": "A", "status": "False", "reason": "Old", "lastTransitionTime": "2026-01-01T00:00:00Z"},
            {"type": "B", "status": "True", "reason": "New", "message": "why", "lastTransitionTime": "2026-01-02T00:00:00Z"}]}});
        assert_eq!(reason(&c).unwrap(), "New: why");
        let js =
            json!({"kind": "JumpStartModel", "spec": {"server": {"instanceType": "ml.g5.xlarge"}}});
        assert_eq!(spec(&js).instance_type(), Some("ml.g5.xlarge"));
        let iec =
            json!({"kind": "InferenceEndpointConfig", "spec": {"instanceType": "ml.p4d.24xlarge"}});
        assert_eq!(spec(&iec).instance_type(), Some("ml.p4d.24xlarge"));
        assert_eq!(resource_of(&iec), IEC);
    }
}
