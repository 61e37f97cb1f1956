//! Setup's check of the operator installed as the EKS add-on `amazon-sagemaker-hyperpod-inference`:
//! the configuration rendered from its template and checked against the add-on's schema, then
//! `create-addon`, or `update-addon` when the add-on's configuration differs (shown as a diff) or
//! it is failed; each followed by a wait that polls `describe-addon` until `ACTIVE` and stops at
//! once on a failure with EKS's health issues.

use serde_json::Value;

use super::steps::SetupInputs;
use crate::error::Result;
use crate::install::installed::configuration;
use crate::install::names::*;
use crate::plan::{Action, AddonWait, Check, State, StepEnv};
use crate::tools::eks::{self, AddonArgs, AddonPut};

/// What to do when the add-on fails: read its issues, fix the role or dependency they name, re-run.
fn on_failure(eks: &str) -> String {
    format!(
        "each issue names what EKS could not use: a role that does not exist or does not trust the add-on's \
         ServiceAccount, or a missing dependency add-on. `kubectl hyperpod doctor` checks them; fix what it \
         reports and re-run setup with `--method addon` (it updates the add-on). \
         The add-on as EKS sees it: aws eks describe-addon --cluster-name {eks} --addon-name {OPERATOR_ADDON}"
    )
}

/// Differences between the wanted configuration and the add-on's, as diff lines:
/// `~ path: have -> want`, `+ path: want` (missing), `- path: have` (set, not wanted).
fn config_diff(path: &str, want: &Value, have: &Value, out: &mut Vec<String>) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => {
            for (k, v) in w {
                match h.get(k) {
                    Some(hv) => config_diff(&join(k), v, hv, out),
                    None => out.push(format!("+ {}: {v}", join(k))),
                }
            }
            for (k, v) in h {
                if !w.contains_key(k) {
                    out.push(format!("- {}: {v}", join(k)));
                }
            }
        }
        (w, h) if w == h => {}
        (w, h) => out.push(format!("~ {path}: {h} -> {w}")),
    }
}

pub(super) fn operator_addon_check(env: &StepEnv, inp: &SetupInputs) -> Result<Check> {
    let want = inp.addon_configuration()?;
    let text = want.to_string();
    let aws = &env.ctx.aws;
    let eks = inp.target.eks_cluster.as_str();
    let tags = inp.iam_tags();
    let name = OPERATOR_ADDON;
    let wait = || {
        Action::wait_addon(
            format!("wait for {name} to become ACTIVE (stops at once on a failure)"),
            aws,
            AddonWait::new(eks, name, inp.config.wait_timeout, on_failure(eks)),
        )
    };
    let doc = "add-on configuration";
    let create = Action::new(
        format!("create add-on {name}"),
        eks::put_addon(
            aws,
            format!("create the {name} add-on"),
            AddonPut::Create,
            eks,
            name,
            &AddonArgs {
                configuration: Some(&text),
                overwrite: true,
                tags: Some(&tags),
                ..AddonArgs::default()
            },
        ),
    )
    .doc(doc, &want);
    let Some(found) = env.describe_addon(eks, name)? else {
        return Ok(Check::new(State::Missing, vec![create, wait()]));
    };
    let status = found.status.clone().unwrap_or_else(|| "UNKNOWN".into());
    let mut diff = Vec::new();
    config_diff("", &want, &configuration(&found), &mut diff);
    if diff.is_empty() && status == "ACTIVE" {
        return Ok(Check::satisfied());
    }
    if diff.is_empty() && matches!(status.as_str(), "CREATING" | "UPDATING") {
        return Ok(
            Check::new(State::Drifted, vec![wait()]).note(format!("add-on {name} is {status}"))
        );
    }
    let actions = if status == "CREATE_FAILED" {
        // EKS does not update an add-on that never became active: it is replaced.
        vec![
            Action::new(
                format!("delete the failed add-on {name}"),
                eks::delete_addon(
                    aws,
                    format!("delete the failed {name} add-on"),
                    eks,
                    name,
                    false,
                ),
            ),
            Action::new(
                format!("wait for {name} to be deleted"),
                eks::wait_addon_deleted(
                    aws,
                    format!("wait for the failed {name} add-on to be deleted"),
                    eks,
                    name,
                )
                .timeout(inp.config.wait_timeout),
            ),
            create,
            wait(),
        ]
    } else {
        vec![
            Action::new(
                format!("update add-on {name}"),
                eks::put_addon(
                    aws,
                    format!("update the {name} add-on"),
                    AddonPut::Update,
                    eks,
                    name,
                    &AddonArgs {
                        configuration: Some(&text),
                        overwrite: true,
                        ..AddonArgs::default()
                    },
                ),
            )
            .doc(doc, &want),
            wait(),
        ]
    };
    let mut c = Check::new(State::Drifted, actions);
    if status != "ACTIVE" {
        c = c.note(format!("add-on {name} is {status}"));
        for i in found.health_issues() {
            c = c.note(format!("health issue {i}"));
        }
    }
    if !diff.is_empty() {
        c = c.note(format!("configuration differs:\n{}", diff.join("\n")));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_configuration_diff_shows_changed_missing_and_extra_keys() {
        let mut out = Vec::new();
        config_diff(
            "",
            &json!({"a": "x", "b": {"c": true, "d": 1}}),
            &json!({"a": "y", "b": {"c": true}, "e": 2}),
            &mut out,
        );
        assert_eq!(out, ["~ a: \"y\" -> \"x\"", "+ b.d: 1", "- e: 2"]);
    }
}
