//! Reading a model resource's status: a summary for tables and live lines, and the verdict the
//! reference CLI uses (overall state `DeploymentComplete`, plus the SageMaker endpoint's
//! `CreationCompleted` when an endpoint was asked for).

use serde::Serialize;
use serde_json::Value;

use super::kind::{ModelKind, ModelRef};
use super::model::Model;

pub(crate) const COMPLETE: &str = "DeploymentComplete";
pub(crate) const FAILED: &str = "DeploymentFailed";
pub(crate) const ENDPOINT_READY: &str = "CreationCompleted";

/// What a model resource says about itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelStatus {
    /// `kind`, `name`, `namespace`.
    #[serde(flatten)]
    pub resource: ModelRef,
    pub model: Option<String>,
    pub instance_type: Option<String>,
    pub replicas: Option<i64>,
    pub ready_replicas: Option<i64>,
    /// `status.deploymentStatus.deploymentObjectOverallState` (else `status.state`).
    pub state: Option<String>,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub endpoint_name: Option<String>,
    pub endpoint_state: Option<String>,
    pub endpoint_arn: Option<String>,
    pub generation: Option<i64>,
    pub observed_generation: Option<i64>,
    pub created: Option<String>,
    pub age_seconds: Option<i64>,
    pub deleting: bool,
}

/// Where a deployment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The operator has not reported on the current generation yet, or is still working.
    Waiting,
    Complete,
    Failed,
    Deleting,
}

fn s(v: &Value, p: &str) -> Option<String> {
    v.pointer(p)
        .and_then(Value::as_str)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
}

impl ModelStatus {
    pub fn of(kind: ModelKind, obj: &Value) -> Self {
        let created = s(obj, "/metadata/creationTimestamp");
        let age_seconds = created
            .as_deref()
            .and_then(crate::time::parse_rfc3339)
            .map(|t| (crate::time::now() - t).max(0));
        let m = Model::read_as(kind, obj);
        let instance_type = m.instance_type_text();
        ModelStatus {
            resource: m.resource,
            model: m.model,
            instance_type,
            replicas: m.replicas,
            ready_replicas: obj
                .pointer("/status/deploymentStatus/status/readyReplicas")
                .and_then(Value::as_i64),
            state: s(obj, "/status/deploymentStatus/deploymentObjectOverallState")
                .or_else(|| s(obj, "/status/state")),
            reason: s(obj, "/status/deploymentStatus/reason"),
            message: s(obj, "/status/deploymentStatus/message"),
            endpoint_name: m.endpoint_name,
            endpoint_state: s(obj, "/status/endpoints/sagemaker/state"),
            endpoint_arn: s(obj, "/status/endpoints/sagemaker/endpointArn"),
            generation: obj.pointer("/metadata/generation").and_then(Value::as_i64),
            observed_generation: obj
                .pointer("/status/observedGeneration")
                .and_then(Value::as_i64),
            created,
            age_seconds,
            deleting: obj.pointer("/metadata/deletionTimestamp").is_some(),
        }
    }

    /// True while the status describes an older generation than the spec.
    pub fn stale(&self) -> bool {
        matches!((self.observed_generation, self.generation), (Some(o), Some(g)) if o < g)
    }

    pub fn phase(&self) -> Phase {
        if self.deleting {
            return Phase::Deleting;
        }
        if self.stale() {
            return Phase::Waiting;
        }
        let state = self.state.as_deref().unwrap_or_default();
        let endpoint_failed = self
            .endpoint_state
            .as_deref()
            .is_some_and(|e| e.contains("Fail"));
        if state == FAILED || state.ends_with("Failed") || endpoint_failed {
            return Phase::Failed;
        }
        let endpoint_ok =
            self.endpoint_name.is_none() || self.endpoint_state.as_deref() == Some(ENDPOINT_READY);
        if state == COMPLETE && endpoint_ok {
            Phase::Complete
        } else {
            Phase::Waiting
        }
    }

    /// One short line: state, endpoint state, ready replicas.
    pub fn state_text(&self) -> String {
        let mut out = if self.stale() {
            "waiting for the operator to pick up the change".to_string()
        } else {
            match &self.state {
                Some(s) => s.clone(),
                None => "no status yet (waiting for the operator)".to_string(),
            }
        };
        if let Some(e) = &self.endpoint_name {
            out.push_str(&format!(
                ", endpoint {e}: {}",
                self.endpoint_state.as_deref().unwrap_or("not created yet")
            ));
        }
        if let (Some(r), Some(want)) = (self.ready_replicas, self.replicas) {
            out.push_str(&format!(", {r}/{want} ready"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(status: Value, endpoint: bool, generation: i64) -> Value {
        let mut o = json!({
            "apiVersion": "inference.sagemaker.aws.amazon.com/v1", "kind": "JumpStartModel",
            "metadata": {"name": "m", "namespace": "default", "generation": generation},
            "spec": {"model": {"modelId": "x"}, "server": {"instanceType": "ml.g5.xlarge"}},
            "status": status
        });
        if endpoint {
            o["spec"]["sageMakerEndpoint"] = json!({"name": "ep"});
        }
        o
    }

    #[test]
    fn verdicts_follow_the_reference_rules() {
        let k = ModelKind::JumpStartModel;
        let done = json!({"observedGeneration": 1, "deploymentStatus": {"deploymentObjectOverallState": "DeploymentComplete"}});
        assert_eq!(
            ModelStatus::of(k, &obj(done.clone(), false, 1)).phase(),
            Phase::Complete
        );
        // An endpoint was asked for and is not ready yet.
        assert_eq!(
            ModelStatus::of(k, &obj(done.clone(), true, 1)).phase(),
            Phase::Waiting
        );
        let mut with_ep = done.clone();
        with_ep["endpoints"] = json!({"sagemaker": {"state": "CreationCompleted"}});
        assert_eq!(
            ModelStatus::of(k, &obj(with_ep.clone(), true, 1)).phase(),
            Phase::Complete
        );
        // The status is about an older generation.
        assert_eq!(
            ModelStatus::of(k, &obj(with_ep, true, 2)).phase(),
            Phase::Waiting
        );
        let failed = json!({"deploymentStatus": {"deploymentObjectOverallState": "DeploymentFailed", "reason": "R"}});
        let s = ModelStatus::of(k, &obj(failed, false, 1));
        assert_eq!(s.phase(), Phase::Failed);
        assert_eq!(s.reason.as_deref(), Some("R"));
        assert_eq!(
            ModelStatus::of(k, &obj(json!({}), false, 1)).phase(),
            Phase::Waiting
        );
        assert!(ModelStatus::of(k, &obj(json!({}), true, 1))
            .state_text()
            .starts_with("no status yet"));
    }
}
