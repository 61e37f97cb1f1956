//! Guide Step 12, done properly: after install, look the real ServiceAccounts up and compare
//! them with the roles' trust policies, wait for the operator Deployment, and check the CRDs.

use super::steps::SetupInputs;
use crate::error::{Error, Result};
use crate::install::names::*;
use crate::install::trust;
use crate::install::{RoleId, Subject};
use crate::plan::{Check, State, StepEnv};
use crate::tools::kube::str_at;

pub(crate) fn verify_check(env: &StepEnv, inp: &SetupInputs) -> Result<Check> {
    if !env.executing || env.offline {
        return Ok(Check::new(State::Deferred, vec![])
            .note("runs after the operator is installed (read-only)"));
    }
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    // Every role a running workload assumes through one ServiceAccount. KEDA's appears only
    // once the KEDA chart runs, so its absence is a note, not a problem.
    let pairs: Vec<(ServiceAccountRef, String, bool)> = inp
        .install
        .roles()
        .filter(|r| r.workload.is_some())
        .filter_map(|r| match r.subject {
            Subject::ServiceAccount(sa) => Some((
                sa,
                inp.install.role_name(r.id).to_string(),
                r.id != RoleId::Keda,
            )),
            Subject::Pattern(_) => None,
        })
        .collect();
    let results: Vec<Result<(Vec<String>, Vec<String>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = pairs
            .iter()
            .map(|(sa, role, required)| s.spawn(move || check_pair(env, inp, *sa, role, *required)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::failed("a verification thread panicked", None)))
            })
            .collect()
    });
    for r in results {
        let (p, n) = r?;
        problems.extend(p);
        notes.extend(n);
    }
    for crd in INFERENCE_CRDS {
        if env.kget("customresourcedefinition", crd, None)?.is_none() {
            problems.push(format!("CRD {crd} is not installed"));
        }
    }
    let deployment = inp.install.operator_deployment();
    // Already available (the plan's batched read saw it): nothing to wait for.
    let seen = env.kget("deployment", deployment, Some(OPERATOR_NAMESPACE))?;
    if seen.as_ref().is_some_and(crate::tools::kube::is_available) {
        return finish(problems, notes);
    }
    let wait = crate::tools::kube::wait_available(
        &env.kube,
        "wait for the operator Deployment to become available",
        deployment,
        OPERATOR_NAMESPACE,
        std::time::Duration::from_secs(120),
    );
    let out = env.ctx.runner.run_unchecked(&wait)?;
    if !out.success() {
        problems.push(format!(
            "the operator Deployment {OPERATOR_NAMESPACE}/{deployment} is not available: {}",
            crate::exec::stderr_tail(&out.stderr)
        ));
    }
    finish(problems, notes)
}

/// Verification's verdict: an error naming every problem, or satisfied with the notes.
fn finish(problems: Vec<String>, notes: Vec<String>) -> Result<Check> {
    if !problems.is_empty() {
        return Err(Error::failed(
            format!(
                "verification found {} problem(s):\n  - {}",
                problems.len(),
                problems.join("\n  - ")
            ),
            Some("`kubectl hyperpod doctor` explains each problem and how to fix it".into()),
        ));
    }
    let mut c = Check::satisfied();
    c.notes = notes;
    Ok(c)
}

/// One ServiceAccount and its role: the annotation names the role, the role trusts exactly this ServiceAccount.
fn check_pair(
    env: &StepEnv,
    inp: &SetupInputs,
    sa: ServiceAccountRef,
    role: &str,
    required: bool,
) -> Result<(Vec<String>, Vec<String>)> {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let role_arn = format!("arn:aws:iam::{}:role/{role}", inp.target.account);
    let Some(found) = env.kget("serviceaccount", sa.name, Some(sa.namespace))? else {
        let msg = format!("ServiceAccount {}/{} does not exist", sa.namespace, sa.name);
        if required {
            problems.push(msg);
        } else {
            notes.push(format!("{msg} (created by the KEDA chart when it runs)"));
        }
        return Ok((problems, notes));
    };
    let ns = str_at(&found, "/metadata/namespace").unwrap_or(sa.namespace);
    let name = str_at(&found, "/metadata/name").unwrap_or(sa.name);
    let subject = format!("system:serviceaccount:{ns}:{name}");
    match str_at(&found, "/metadata/annotations/eks.amazonaws.com~1role-arn") {
        Some(a) if a == role_arn => {}
        other => problems.push(format!(
            "ServiceAccount {ns}/{name} is annotated with {} instead of {role_arn}",
            other.unwrap_or("no role")
        )),
    }
    let Some(found) = env.get_role(role)? else {
        problems.push(format!("role {role} does not exist"));
        return Ok((problems, notes));
    };
    let trust = found.trust();
    let subjects = trust::trust_subjects(&trust);
    if !subjects.iter().any(|p| trust::subject_matches(p, &subject)) {
        problems.push(format!(
            "role {role} trusts {} but the ServiceAccount that runs is {subject}",
            subjects.join(", ")
        ));
    }
    Ok((problems, notes))
}
