//! HP2xx: the AWS side: credentials, the HyperPod cluster, the EKS cluster behind it, the bucket.

use crate::doctor::facts::{eks_name_of, Account, Facts};
use crate::doctor::report::{Fix, Outcome};
use crate::doctor::runner::Problem;
use crate::tools::aws::BucketState;

/// Error codes of the AWS CLI that mean "your credentials are not accepted".
const REJECTED: [&str; 8] = [
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "UnrecognizedClientException",
    "AuthFailure",
    "InvalidToken",
    "AccessDenied",
];

fn login_fix(f: &Facts) -> Fix {
    let configure = crate::tools::aws::configure(&f.ctx.aws, "fix");
    let check = crate::tools::aws::get_caller_identity(&f.ctx.aws, "fix");
    Fix::manual(
        "give the AWS CLI valid credentials (`aws configure`, `aws sso login`, or AWS_PROFILE/--profile), then check them",
        vec![configure, check],
    )
}

/// With `--hyperpod-cluster`, the credentials are judged by the describe call HP202 needs anyway
/// (one aws process fewer); `sts get-caller-identity` runs only without one, or when that call
/// fails, to tell a credentials problem from a missing cluster or a missing permission.
pub(crate) fn identity(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    if f.cfg.hyperpod_cluster.is_some() {
        if let Ok(hp) = f.hyperpod() {
            let account = Account::of_arn(&hp.cluster_arn)
                .map(|a| format!("account {}", a.id))
                .unwrap_or_else(|| "accepted".into());
            return Ok(vec![Outcome::pass(format!(
                "{account}: the credentials work (AWS answered `sagemaker describe-cluster`)"
            ))]);
        }
    }
    match f.identity() {
        Ok(id) => Ok(vec![Outcome::pass(format!(
            "account {} as {}",
            id.account, id.arn
        ))]),
        Err(p) => {
            let text = p.0.to_string();
            let code = crate::tools::aws::error_code(&text).unwrap_or("");
            let finding = if REJECTED.contains(&code) {
                format!("AWS rejected the credentials ({code})")
            } else if text.contains("Unable to locate credentials") {
                "the AWS CLI found no credentials".to_string()
            } else {
                text.lines().next().unwrap_or("").to_string()
            };
            Ok(vec![Outcome::fail(finding)
                .details(text.lines().skip(1).map(str::to_string))
                .fix(login_fix(f))])
        }
    }
}

/// An AWS CLI too old for a command answers `Invalid choice`: say which CLI that is.
fn too_old(f: &Facts, text: &str, command: &str) -> Option<Outcome> {
    if !text.to_ascii_lowercase().contains("invalid choice") {
        return None;
    }
    let version = f
        .tool_version(crate::tools::Tool::Aws)
        .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
        .unwrap_or_else(|_| "unknown version".into());
    Some(
        Outcome::fail(format!(
            "the AWS CLI ({version}) does not know `aws {command}`: it is older than the HyperPod API"
        ))
        .details(text.lines().map(str::to_string))
        .fix(Fix::advice(crate::tools::Tool::Aws.install_hint())),
    )
}

pub(crate) fn hyperpod(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    let Some(name) = f.cfg.hyperpod_cluster.as_deref() else {
        return Ok(vec![Outcome::skip("no --hyperpod-cluster given")]);
    };
    let hp = match f.hyperpod() {
        Ok(hp) => hp,
        Err(p) => {
            let text = p.0.to_string();
            if let Some(o) = too_old(f, &text, "sagemaker describe-cluster") {
                return Ok(vec![o]);
            }
            if matches!(
                crate::tools::aws::error_code(&text),
                Some("ResourceNotFound" | "ResourceNotFoundException" | "ValidationException")
            ) {
                let region = f.ctx.aws.region.as_deref().unwrap_or("the default region");
                return Ok(vec![Outcome::fail(format!(
                    "no HyperPod cluster named {name} in {region}"
                ))
                .fix(Fix::manual(
                    "list the HyperPod clusters of this account and region, then pass the right --hyperpod-cluster/--region",
                    vec![crate::tools::sagemaker::list_clusters(&f.ctx.aws, "list")],
                ))]);
            }
            return Err(p);
        }
    };
    let status = hp.cluster_status.as_deref().unwrap_or("unknown status");
    let Some(eks) = eks_name_of(&hp) else {
        return Ok(vec![Outcome::fail(format!(
            "HyperPod cluster {name} ({status}) is not orchestrated by EKS; the inference operator needs an EKS-orchestrated cluster"
        ))]);
    };
    let o = Outcome::pass(format!("{name} ({status}) runs on EKS cluster {eks}"));
    Ok(vec![match status {
        "InService" | "unknown status" => o,
        "Creating" | "Updating" | "SystemUpdating" => {
            Outcome::warn(format!("{name} is {status}; EKS cluster {eks}"))
        }
        _ => Outcome::fail(format!("{name} is {status}; EKS cluster {eks}")),
    }])
}

pub(crate) fn eks(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    let c = f.eks()?;
    let status = c.status.as_deref().unwrap_or("UNKNOWN");
    let Some(issuer) = c.oidc_issuer() else {
        return Ok(vec![Outcome::fail(format!(
            "EKS cluster {} ({status}) reports no OIDC issuer; IAM roles for service accounts cannot work",
            c.name
        ))]);
    };
    let finding = format!("{} is {status}; OIDC issuer {issuer}", c.name);
    Ok(vec![if status == "ACTIVE" {
        Outcome::pass(finding)
    } else if matches!(status, "CREATING" | "UPDATING") {
        Outcome::warn(finding)
    } else {
        Outcome::fail(finding)
    }])
}

pub(crate) fn bucket(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    let Some(b) = f.cfg.s3_bucket.as_deref() else {
        return Ok(vec![Outcome::skip("no --s3-bucket given")]);
    };
    Ok(vec![match *f.bucket()? {
        BucketState::Exists => Outcome::pass(format!("s3://{b} exists")),
        BucketState::Forbidden => Outcome::warn(format!(
            "s3://{b} exists but your identity may not read it (403)"
        )),
        BucketState::Missing => Outcome::fail(format!(
            "s3://{b} does not exist; the operator stores its TLS certificates there"
        ))
        .fix(Fix::manual(
            "create the bucket (or pass the right --s3-bucket)",
            vec![crate::tools::aws::create_bucket(&f.ctx.aws, "fix", b)],
        )),
    }])
}
