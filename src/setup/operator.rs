//! Setup's checks of the operator itself: the Helm release (chart fetched and pinned, values
//! compared key by key), the operator's ServiceAccount annotation, and the test model.

use std::time::Duration;

use serde_json::{Map, Value};

use super::cluster::annotate_sa;
use super::model_wait::ModelWait;
use super::steps::SetupInputs;
use super::ChartSource;
use crate::deploy::kind::ModelKind;
use crate::deploy::placement::{self, PlacementRequest};
use crate::error::Result;
use crate::install::names::*;
use crate::install::RoleId;
use crate::marks;
use crate::plan::{Action, Check, State, StepEnv};
use crate::tools::helm;
use crate::tools::kube::{self, str_at, Deletion};

pub(super) fn operator_check(env: &StepEnv, inp: &SetupInputs) -> Result<Check> {
    operator_release_check(env, inp, inp.helm_values()?)
}

fn operator_release_check(env: &StepEnv, inp: &SetupInputs, values: Value) -> Result<Check> {
    let mut actions = Vec::new();
    let chart_path = match &inp.config.chart {
        ChartSource::Local { path } => path.display().to_string(),
        ChartSource::Git {
            url,
            reference,
            cache_dir,
        } => {
            let chart = cache_dir.join(super::CHART_SUBDIR);
            if !chart.join("Chart.yaml").exists() || !chart.join("charts").exists() {
                let dir = cache_dir.display().to_string();
                actions.push(Action::new(
                    "fetch the inference operator chart",
                    helm::clone_chart(url, &dir),
                ));
                actions.push(Action::new(
                    format!("check out chart revision {reference}"),
                    helm::checkout_chart(&dir, reference),
                ));
                actions.push(Action::new(
                    "fetch the chart's dependencies",
                    helm::dependency_update(&chart.display().to_string()),
                ));
            }
            chart.display().to_string()
        }
    };
    // The release's own label (on its storage Secret): how teardown knows the release is setup's.
    let labels = format!("{}={}", marks::LABEL_MANAGED.0, marks::LABEL_MANAGED.1);
    let install = Action::new(
        "helm upgrade --install the inference operator",
        helm::upgrade_install(
            &env.kube,
            "install the inference operator chart",
            helm::Install {
                release: HELM_RELEASE,
                chart: &chart_path,
                namespace: HELM_NAMESPACE,
                labels: &labels,
                wait: inp.config.wait_timeout,
            },
            &values,
        )
        .timeout(inp.config.wait_timeout + Duration::from_secs(60)),
    )
    .doc("helm values", &values);
    actions.push(install);
    if env.offline {
        return Ok(Check::new(State::Missing, actions));
    }
    let Some(st) = helm::release(&env.kube, &env.ctx.runner, HELM_RELEASE, HELM_NAMESPACE)? else {
        return Ok(Check::new(State::Missing, actions));
    };
    let phase = str_at(&st, "/info/status").unwrap_or("unknown").to_string();
    // An interrupted helm's pending release is repaired just before the upgrade.
    let repair_note = super::pending::repair(env, &st, &phase)?.map(|(note, fix)| {
        actions.insert(actions.len() - 1, fix);
        note
    });
    // `helm status -o json` carries the values the release was installed with (`config`, what
    // `helm get values` prints); a helm that leaves them out is asked separately.
    let current: Value = match st.get("config") {
        Some(v) if v.is_object() => v.clone(),
        _ => env.ctx.runner.json(&helm::get_values(
            &env.kube,
            "read the operator's helm values",
            HELM_RELEASE,
            HELM_NAMESPACE,
        ))?,
    };
    let diffs = value_diffs("", &values, &current);
    if phase == "deployed" && diffs.is_empty() {
        return Ok(Check::satisfied());
    }
    let mut c = Check::new(State::Drifted, actions);
    if let Some(note) = repair_note {
        c = c.note(note);
    } else if phase != "deployed" {
        c = c.note(format!("release {HELM_RELEASE} is {phase}"));
    }
    for d in diffs {
        c = c.note(d);
    }
    Ok(c)
}

/// Differences between wanted and current values (only keys we set are compared).
fn value_diffs(path: &str, want: &Value, have: &Value) -> Vec<String> {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => w
            .iter()
            .flat_map(|(k, v)| {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                value_diffs(&p, v, h.get(k).unwrap_or(&Value::Null))
            })
            .collect(),
        (Value::Object(w), _) => {
            value_diffs(path, &Value::Object(w.clone()), &Value::Object(Map::new()))
        }
        (w, h) if w == h => vec![],
        (w, h) => vec![format!("value {path} is {h}, expected {w}")],
    }
}

pub(super) fn operator_sa_check(env: &StepEnv, inp: &SetupInputs) -> Result<Check> {
    let arn = inp.role_arn(RoleId::Operator);
    match env.kget(
        "serviceaccount",
        OPERATOR_SA.name,
        Some(OPERATOR_SA.namespace),
    )? {
        None => Ok(annotate_sa(env, OPERATOR_SA, &arn)
            .with_state(State::Deferred)
            .note("created by the chart; annotated if the chart did not")),
        Some(sa)
            if str_at(&sa, "/metadata/annotations/eks.amazonaws.com~1role-arn")
                == Some(arn.as_str()) =>
        {
            Ok(Check::satisfied())
        }
        Some(sa) => Ok(annotate_sa(env, OPERATOR_SA, &arn).note(format!(
            "annotated with {} instead of {arn}",
            str_at(&sa, "/metadata/annotations/eks.amazonaws.com~1role-arn").unwrap_or("no role")
        ))),
    }
}

pub(super) fn test_deployment_check(env: &StepEnv, inp: &SetupInputs) -> Result<Check> {
    let model = inp.test_model()?;
    if env.executing && !env.offline {
        // Deploy's placement check, before the test model is created: a type the cluster cannot
        // place would only be found at the wait's deadline.
        let req = PlacementRequest {
            hyperpod_cluster: Some(inp.config.hyperpod_cluster.clone()),
            flag: "--test-instance-type".into(),
            skip_hint: Some(
                "pick one with --test-instance-type, or pass --skip-test-deployment".into(),
            ),
            known: inp.target.hyperpod.clone(),
        };
        let kind = ModelKind::JumpStartModel;
        for note in placement::check(env.ctx, &env.kube, kind, &model, &req)? {
            env.ctx.ui.warn(&note);
        }
    }
    let k = &env.kube;
    // The test model's removal, waited for: before a new test and after a passed one.
    let delete_model = |summary: &str, purpose: &str| {
        Action::new(
            summary,
            kube::delete(
                k,
                purpose,
                "jumpstartmodel",
                &[TEST_MODEL_NAME],
                Some("default"),
                Deletion::waited(inp.config.wait_timeout),
            )
            .timeout(inp.config.wait_timeout + Duration::from_secs(30)),
        )
    };
    let mut actions = Vec::new();
    let leftover = !env.offline
        && env
            .kget("jumpstartmodel", TEST_MODEL_NAME, Some("default"))?
            .is_some();
    if leftover {
        actions.push(delete_model(
            "remove a test model left by an earlier run",
            "remove an earlier test model",
        ));
    }
    actions.push(
        Action::new(
            "create the test model",
            k.apply_as(
                "kubectl-hyperpod-test-deployment",
                "create the test JumpStartModel",
                "JumpStartModel",
                &model,
            ),
        )
        .doc(&format!("JumpStartModel default/{TEST_MODEL_NAME}"), &model),
    );
    // Deploy's watcher: DeploymentFailed stops the wait at once with the operator's diagnosis.
    // A model that fails (or times out) is kept, as `deploy` keeps one, for describe and logs;
    // the next setup finds it and tests again.
    actions.push(
        ModelWait::new(
            ModelKind::JumpStartModel,
            "default",
            TEST_MODEL_NAME,
            inp.config.wait_timeout,
            format!(
                "the test model default/{TEST_MODEL_NAME} is kept for inspection \
                 (`kubectl hyperpod describe {TEST_MODEL_NAME}`, `kubectl hyperpod logs {TEST_MODEL_NAME}`); \
                 the next `kubectl hyperpod setup` replaces it and tests again, \
                 `kubectl hyperpod delete {TEST_MODEL_NAME}` removes it"
            ),
        )
        .action(
            "wait for DeploymentComplete (stops at once on DeploymentFailed)",
            k,
        ),
    );
    actions.push(delete_model(
        "remove the test model",
        "remove the test model",
    ));
    if leftover {
        // The last test did not finish: run it again even when nothing else changes.
        return Ok(Check::new(State::Drifted, actions).note(format!(
            "test model {TEST_MODEL_NAME} from an earlier run is still there"
        )));
    }
    Ok(Check::new(State::Deferred, actions).note("runs only when this run changed something"))
}

impl Check {
    fn with_state(mut self, s: State) -> Self {
        self.state = s;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn value_diffs_compare_only_wanted_keys() {
        let want = json!({"a": 1, "b": {"c": "x"}});
        let have = json!({"a": 1, "b": {"c": "y", "d": 2}, "e": 3});
        assert_eq!(
            value_diffs("", &want, &have),
            ["value b.c is \"y\", expected \"x\""]
        );
        assert!(value_diffs("", &want, &json!({"a": 1, "b": {"c": "x"}})).is_empty());
    }
}
