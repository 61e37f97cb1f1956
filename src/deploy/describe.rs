//! `describe`: one model resource with its summary, conditions, latest events, pods and hints,
//! as data and as text.

use serde::Serialize;
use serde_json::Value;

use super::cluster::{self, PodInfo};
use super::diagnose;
use super::kind::ModelKind;
use super::status::ModelStatus;
use super::table::{dash, table};
use crate::error::Result;
use crate::time::human;
use crate::Ctx;

/// Everything `describe` shows about one model resource.
#[derive(Debug, Serialize)]
pub(crate) struct Description {
    pub summary: ModelStatus,
    pub conditions: Vec<diagnose::Condition>,
    pub events: Vec<cluster::EventInfo>,
    pub pods: Vec<PodInfo>,
    pub hints: Vec<String>,
    pub resource: Value,
    /// What could not be read (shown in text only, as before).
    #[serde(skip)]
    pub unavailable: Vec<String>,
}

/// Reads the model resource `name` (of either kind unless given) and its diagnosis.
pub(crate) fn describe(
    ctx: &Ctx,
    ns: &str,
    name: &str,
    kind: Option<ModelKind>,
) -> Result<Description> {
    let (kind, obj) = cluster::find(ctx, ns, name, kind)?;
    let d = diagnose::collect(ctx, kind, ns, name, Some(&obj));
    let summary = ModelStatus::of(kind, &obj);
    Ok(Description {
        summary,
        conditions: d.conditions,
        events: d.events,
        pods: d.pods,
        hints: if summary_needs_hints(&obj, kind) {
            d.hints
        } else {
            Vec::new()
        },
        resource: obj,
        unavailable: d.unavailable,
    })
}

fn summary_needs_hints(obj: &Value, kind: ModelKind) -> bool {
    ModelStatus::of(kind, obj).phase() != super::status::Phase::Complete
}

impl Description {
    /// The description for people, as `kubectl describe` lays it out.
    pub(crate) fn text(&self) -> String {
        let d = self;
        let s = &d.summary;
        let mut out = String::new();
        let mut kv = |k: &str, v: String| out.push_str(&format!("{:<15}{v}\n", format!("{k}:")));
        kv("Name", s.resource.name.clone());
        kv("Namespace", s.resource.namespace.clone());
        kv("Kind", s.resource.kind.kind().into());
        kv("Model", dash(&s.model));
        kv("Instance type", dash(&s.instance_type));
        kv(
            "Replicas",
            match (s.replicas, s.ready_replicas) {
                (Some(r), Some(ready)) => format!("{r} ({ready} ready)"),
                (Some(r), None) => r.to_string(),
                (None, _) => "1".into(),
            },
        );
        kv(
            "State",
            s.state.clone().unwrap_or_else(|| "no status yet".into()),
        );
        if let Some(r) = &s.reason {
            kv("Reason", r.clone());
        }
        if let Some(m) = &s.message {
            kv("Message", m.clone());
        }
        kv(
            "Endpoint",
            match &s.endpoint_name {
                None => "none (no SageMaker endpoint asked for)".into(),
                Some(e) => format!(
                    "{e} ({}){}",
                    s.endpoint_state.as_deref().unwrap_or("not created yet"),
                    s.endpoint_arn
                        .as_deref()
                        .map(|a| format!(" {a}"))
                        .unwrap_or_default()
                ),
            },
        );
        kv(
            "Age",
            s.age_seconds.map(human).unwrap_or_else(|| "-".into()),
        );
        if s.deleting {
            kv("Deleting", "yes".into());
        }
        let conditions = d.conditions.iter().map(|c| {
            vec![
                c.condition_type.clone(),
                c.status.clone(),
                dash(&c.reason),
                dash(&c.message),
            ]
        });
        section(
            &mut out,
            "Conditions:",
            &["TYPE", "STATUS", "REASON", "MESSAGE"],
            conditions.collect(),
        );
        let events = d.events.iter().map(|e| {
            vec![
                dash(&e.time),
                e.event_type.clone(),
                e.reason.clone(),
                e.object.clone(),
                e.message.clone(),
            ]
        });
        section(
            &mut out,
            "Events:",
            &["TIME", "TYPE", "REASON", "OBJECT", "MESSAGE"],
            events.collect(),
        );
        let pods = d.pods.iter().map(|p| {
            vec![
                p.name.clone(),
                p.phase.clone(),
                p.ready.clone(),
                p.restarts.to_string(),
                dash(&p.node),
                match (&p.reason, &p.message) {
                    (Some(r), Some(m)) => format!("{r}: {m}"),
                    (Some(r), None) => r.clone(),
                    _ => "-".into(),
                },
            ]
        });
        section(
            &mut out,
            &format!("Pods (app={}):", s.resource.name),
            &["NAME", "PHASE", "READY", "RESTARTS", "NODE", "WHY"],
            pods.collect(),
        );
        for u in &d.unavailable {
            out.push_str(&format!("(could not read {u})\n"));
        }
        for h in &d.hints {
            out.push_str(&format!("hint: {h}\n"));
        }
        out
    }
}

/// A titled part of the text: `heading` on its own line, then `rows` under `headers` as a table
/// indented two spaces (`none` when there are no rows).
fn section(out: &mut String, heading: &str, headers: &[&str], rows: Vec<Vec<String>>) {
    out.push_str(heading);
    out.push('\n');
    if rows.is_empty() {
        out.push_str("  none\n");
        return;
    }
    for l in table(headers, &rows).lines() {
        out.push_str(&format!("  {l}\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_lays_out_fields_tables_notes_and_hints() {
        let obj = json!({"metadata": {"name": "m", "namespace": "ns"},
            "spec": {"model": {"modelId": "bert"}, "server": {"instanceType": "ml.c5.2xlarge"}}});
        let d = Description {
            summary: ModelStatus::of(ModelKind::JumpStartModel, &obj),
            conditions: vec![],
            events: vec![],
            pods: vec![],
            hints: vec!["look".into()],
            resource: obj,
            unavailable: vec!["events: denied".into()],
        };
        let t = d.text();
        assert!(
            t.starts_with("Name:          m\nNamespace:     ns\n"),
            "{t}"
        );
        assert!(t.contains("State:         no status yet\n"), "{t}");
        assert!(
            t.contains("Conditions:\n  none\nEvents:\n  none\nPods (app=m):\n  none\n"),
            "{t}"
        );
        assert!(
            t.ends_with("(could not read events: denied)\nhint: look\n"),
            "{t}"
        );
        assert!(!serde_json::to_string(&d).unwrap().contains("unavailable"));
    }
}
