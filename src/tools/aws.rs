//! The AWS CLI: argv with --region/--profile forwarded, JSON output, typed responses, error codes.

use serde::{Deserialize, Serialize};

use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::exec::{Cmd, Output, Runner};

/// AWS options forwarded to every `aws` call.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AwsOpts {
    pub region: Option<String>,
    pub profile: Option<String>,
}

impl AwsOpts {
    /// `aws <args> --output json [--region R] [--profile P]`.
    pub(in crate::tools) fn cmd<S: AsRef<str>>(
        &self,
        purpose: impl Into<String>,
        args: &[S],
    ) -> Cmd {
        Cmd::new("aws", purpose)
            .args(args.iter().map(|a| a.as_ref().to_string()))
            .args(["--output", "json"])
            .opt("--region", self.region.as_deref())
            .opt("--profile", self.profile.as_deref())
    }
}

/// The error code in the AWS CLI's `An error occurred (Code) when calling ...` message.
pub(crate) fn error_code(stderr: &str) -> Option<&str> {
    let start = stderr.find("An error occurred (")? + "An error occurred (".len();
    let end = stderr[start..].find(')')? + start;
    Some(&stderr[start..end])
}

/// True when the call failed because the thing asked for does not exist.
pub(crate) fn is_not_found(out: &Output) -> bool {
    !out.success()
        && matches!(
            error_code(&out.stderr),
            Some(
                "NoSuchEntity"
                    | "ResourceNotFound"
                    | "ResourceNotFoundException"
                    | "NotFoundException"
                    | "NoSuchEntityException"
                    | "ValidationException"
            )
        )
        && !out.stderr.contains("AccessDenied")
}

/// True when the caller may not make the call (IAM's `AccessDenied`, most services'
/// `AccessDeniedException`).
pub(crate) fn is_access_denied(out: &Output) -> bool {
    !out.success()
        && matches!(
            error_code(&out.stderr),
            Some("AccessDenied" | "AccessDeniedException")
        )
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CallerIdentity {
    pub account: String,
    pub arn: String,
}

/// `aws configure [--profile P]`: the interactive set-up of credentials (a fix to show, never
/// run by the plugin).
pub(crate) fn configure(aws: &AwsOpts, purpose: impl Into<String>) -> Cmd {
    Cmd::new("aws", purpose)
        .arg("configure")
        .opt("--profile", aws.profile.as_deref())
}

/// `aws sts get-caller-identity`.
pub(crate) fn get_caller_identity(aws: &AwsOpts, purpose: impl Into<String>) -> Cmd {
    aws.cmd(purpose, &["sts", "get-caller-identity"])
}

/// Runs a [`get_caller_identity`] command: who the credentials are.
pub(crate) fn caller_identity(runner: &Runner, cmd: &Cmd) -> Result<CallerIdentity> {
    runner.json(cmd)
}

/// What `aws s3api head-bucket` said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BucketState {
    Exists,
    Missing,
    Forbidden,
}

/// `aws s3api head-bucket`.
pub(crate) fn head_bucket(aws: &AwsOpts, bucket: &str) -> Cmd {
    aws.cmd(
        format!("look up S3 bucket {bucket}"),
        &["s3api", "head-bucket", "--bucket", bucket],
    )
}

/// Runs a [`head_bucket`] command: whether the bucket exists and may be read.
pub(crate) fn bucket_state(runner: &Runner, cmd: &Cmd) -> Result<BucketState> {
    let out = runner.run_unchecked(cmd)?;
    if out.success() {
        return Ok(BucketState::Exists);
    }
    match error_code(&out.stderr) {
        Some("404" | "NoSuchBucket" | "NotFound") => Ok(BucketState::Missing),
        Some("403" | "AccessDenied" | "Forbidden") => Ok(BucketState::Forbidden),
        _ => Err(crate::exec::command_error(cmd, &out)),
    }
}

/// `aws s3api create-bucket`, in the region of the options (`us-east-1` takes no location).
pub(crate) fn create_bucket(aws: &AwsOpts, purpose: impl Into<String>, bucket: &str) -> Cmd {
    let mut args = vec!["s3api", "create-bucket", "--bucket", bucket];
    let loc;
    if let Some(r) = aws.region.as_deref().filter(|r| *r != "us-east-1") {
        loc = format!("LocationConstraint={r}");
        args.extend(["--create-bucket-configuration", loc.as_str()]);
    }
    aws.cmd(purpose, &args).mutating()
}

/// Runs a read whose "does not exist" is an answer: `Ok(None)`.
pub(crate) fn read_opt<T: DeserializeOwned>(runner: &Runner, cmd: &Cmd) -> Result<Option<T>> {
    let out = runner.run_unchecked(cmd)?;
    if out.success() {
        return crate::exec::parse_json(cmd, &out.stdout).map(Some);
    }
    if is_not_found(&out) {
        return Ok(None);
    }
    Err(crate::exec::command_error(cmd, &out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_read_from_cli_messages() {
        let s = "\nAn error occurred (NoSuchEntity) when calling the GetRole operation: Role X not found\n";
        assert_eq!(error_code(s), Some("NoSuchEntity"));
        assert_eq!(error_code("boom"), None);
    }
}
