//! HP5xx: the inference operator: its namespaces, its CRDs, and its Deployment (ready, or why not).

use serde_json::Value;

use super::addons::csi_fix;
use super::iam::{resolve_sa, Binding};
use crate::doctor::facts::Facts;
use crate::doctor::fixes;
use crate::doctor::report::{Fix, FixCommand, Outcome};
use crate::doctor::runner::Problem;
use crate::doctor::workloads;
use crate::install::names::*;
use crate::install::OPERATOR_WORKLOAD;
use crate::tools::kube;
use crate::tools::pod_diagnosis::{PodProblem, Trouble};

pub(crate) fn namespaces(f: &Facts, bindings: &[Binding]) -> Result<Vec<Outcome>, Problem> {
    let objs = f.cluster()?;
    let mut want = vec![OPERATOR_NAMESPACE.to_string()];
    for b in bindings {
        let ns = resolve_sa(&objs, b).namespace;
        if !want.contains(&ns) {
            want.push(ns);
        }
    }
    let missing: Vec<&String> = want.iter().filter(|n| !objs.has_namespace(n)).collect();
    if missing.is_empty() {
        return Ok(vec![Outcome::pass(format!("{} exist", want.join(", ")))]);
    }
    let cmds = missing
        .iter()
        .map(|n| kube::create_namespace(&f.ctx.kube, "fix", n))
        .collect();
    Ok(vec![Outcome::fail(format!(
        "missing namespace{} {}",
        if missing.len() > 1 { "s" } else { "" },
        missing
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .fix(Fix::manual(
        "create them (setup creates them too)",
        cmds,
    ))])
}

pub(crate) fn inference_crds(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    let missing = f.missing_crds(&INFERENCE_CRDS)?;
    if missing.is_empty() {
        return Ok(vec![Outcome::pass("JumpStartModel, InferenceEndpointConfig and SageMakerEndpointRegistration are installed")]);
    }
    Ok(vec![Outcome::fail(format!(
        "missing CRD{} {}",
        if missing.len() > 1 { "s" } else { "" },
        missing.join(", ")
    ))
    .fix(fixes::setup_fix(
        f,
        "re-run setup, which installs the operator chart and its CRDs",
    ))])
}

/// The fix for a problem the operator's pods show, when the cause is known.
fn fix_for(f: &Facts, w: &Value, p: &PodProblem, logs: &str) -> Option<Fix> {
    let m = p.message.as_str();
    let restart = FixCommand::from_cmd(&workloads::restart_cmd(&f.ctx.kube, "deployment", w));
    let then_restart = |mut fix: Fix| {
        fix.summary
            .push_str(", then restart the operator so its init container checks again");
        fix.commands.push(restart.clone());
        fix
    };
    match p.trouble {
        Trouble::InitFailed if m.contains("s3.csi.aws.com") => Some(then_restart(csi_fix(f, "s3.csi.aws.com"))),
        Trouble::InitFailed if m.contains("fsx.csi.aws.com") => Some(then_restart(csi_fix(f, "fsx.csi.aws.com"))),
        Trouble::InitFailed if m.contains("cert-manager.io") => Some(then_restart(fixes::cert_manager_fix(f))),
        Trouble::InitFailed if m.contains("RBAC") => Some(Fix::advice(
            "the init container may not read CSIDrivers/CRDs: re-run setup so the chart's RBAC is installed",
        )),
        Trouble::CrashLoop | Trouble::Exited | Trouble::NotReady | Trouble::ProbeFailing
            if ["AccessDenied", "WebIdentityErr", "InvalidIdentityToken", "AssumeRoleWithWebIdentity", "NoCredentialProviders"]
                .iter()
                .any(|s| logs.contains(s) || m.contains(s)) =>
        {
            Some(Fix::advice("the operator cannot get AWS credentials: fix the IAM checks above (HP401-HP403; `doctor --fix` applies those fixes)"))
        }
        Trouble::ImagePull => Some(Fix::advice(
            "the nodes cannot pull the operator image: the region must be one the chart supports and nodes need a route to ECR (NAT gateway or VPC endpoints)",
        )),
        Trouble::Unschedulable => Some(Fix::advice(
            "no node can run the operator (it needs an amd64 Linux node with spare CPU and memory): add capacity or relax the chart's affinity",
        )),
        _ => None,
    }
}

pub(crate) fn deployment(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    let objs = f.cluster()?;
    let Some(w) = workloads::find(objs.deployments.iter(), &OPERATOR_WORKLOAD) else {
        return Ok(vec![Outcome::fail(format!(
            "Deployment {OPERATOR_NAMESPACE}/{OPERATOR_DEPLOYMENT} does not exist: the operator is not installed"
        ))
        .fix(fixes::setup_fix(f, "re-run setup, which installs the operator chart"))]);
    };
    let (ready, line) = workloads::ready_line(w, &workloads::ref_of(w), "ready");
    if ready {
        return Ok(vec![Outcome::pass(line)]);
    }
    let (problems, details) = workloads::why_not_ready(f, w);
    let Some(first) = problems.first() else {
        return Ok(vec![Outcome::fail(line).details(details).fix(Fix::manual(
            "look at the Deployment's events and pods",
            vec![workloads::describe_cmd(&f.ctx.kube, "deployment", w)],
        ))]);
    };
    let logs = details.join("\n");
    let fix = problems
        .iter()
        .find_map(|p| fix_for(f, w, p, &logs))
        .unwrap_or_else(|| {
            Fix::manual(
                "read the operator's logs for the cause",
                vec![kube::logs_tail(
                    &f.ctx.kube,
                    "inspect",
                    (
                        workloads::namespace(w),
                        &format!("deployment/{}", workloads::name(w)),
                    ),
                    "manager",
                    50,
                )],
            )
        });
    Ok(vec![Outcome::fail(format!("{line}; {}", first.line()))
        .details(details)
        .fix(fix)])
}
