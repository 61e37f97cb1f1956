//! HP3xx: kubectl reaches the Kubernetes API, and the context it uses is the HyperPod cluster's EKS cluster.

use serde_json::Value;

use super::tools::parse_version;
use crate::doctor::facts::Facts;
use crate::doctor::fixes;
use crate::doctor::report::{Fix, Outcome};
use crate::doctor::runner::Problem;
use crate::tools::kube::str_at;

/// Why kubectl could not talk to the API, from its error text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccessTrouble {
    NoContext,
    Unreachable,
    Unauthorized,
    CredentialPlugin,
    Other,
}

/// What kubectl's error says for each trouble, lowercase, in the order they are tried.
const SIGNS: [(AccessTrouble, &[&str]); 4] = [
    (
        AccessTrouble::CredentialPlugin,
        &["getting credentials", "exec plugin", "executable aws"],
    ),
    (
        AccessTrouble::Unauthorized,
        &[
            "unauthorized",
            "must be logged in",
            "provide credentials",
            "forbidden",
        ],
    ),
    (
        AccessTrouble::NoContext,
        &[
            "no configuration has been provided",
            "localhost:8080",
            "current-context",
            "context was not found",
            "invalid configuration",
            "does not exist",
        ],
    ),
    (
        AccessTrouble::Unreachable,
        &[
            "refused",
            "no such host",
            "unable to connect",
            "i/o timeout",
            "timed out",
            "deadline exceeded",
            "certificate",
        ],
    ),
];

pub(crate) fn classify(stderr: &str) -> AccessTrouble {
    let s = stderr.to_ascii_lowercase();
    SIGNS
        .iter()
        .find(|(_, signs)| signs.iter().any(|sign| s.contains(sign)))
        .map_or(AccessTrouble::Other, |(trouble, _)| *trouble)
}

/// The IAM principal ARN an access entry names (an assumed role's session is its role).
pub(crate) fn principal_arn(caller_arn: &str) -> String {
    // arn:aws:sts::123:assumed-role/Role/session -> arn:aws:iam::123:role/Role
    let parts: Vec<&str> = caller_arn.splitn(6, ':').collect();
    if parts.len() == 6 && parts[2] == "sts" {
        if let Some(rest) = parts[5].strip_prefix("assumed-role/") {
            let role = rest.split('/').next().unwrap_or(rest);
            return format!("arn:{}:iam::{}:role/{role}", parts[1], parts[4]);
        }
    }
    caller_arn.to_string()
}

fn access_entry_fix(f: &Facts) -> Option<Fix> {
    let eks = f.eks_name().ok()?;
    let id = f.identity().ok()?;
    let p = principal_arn(&id.arn);
    let partition = p.split(':').nth(1).unwrap_or("aws").to_string();
    let policy =
        format!("arn:{partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy");
    Some(Fix::manual(
        format!("give {p} cluster-admin access to EKS cluster {eks} (an access entry)"),
        vec![
            crate::tools::eks::create_access_entry(&f.ctx.aws, "fix", &eks, &p),
            crate::tools::eks::associate_access_policy(&f.ctx.aws, "fix", &eks, &p, &policy),
        ],
    ))
}

fn minor(v: &Value) -> Option<u64> {
    str_at(v, "/gitVersion")
        .and_then(parse_version)
        .map(|v| v.1)
}

fn context_name(f: &Facts) -> String {
    f.kubeconfig()
        .ok()
        .and_then(|k| str_at(&k, "/current-context").map(str::to_string))
        .or_else(|| f.ctx.kube.context.clone())
        .unwrap_or_else(|| "(none)".into())
}

pub(crate) fn reach(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    let v = match f.server() {
        Ok(v) => v,
        Err(p) => {
            let text = p.0.to_string();
            let ctx = context_name(f);
            let (finding, fix) = match classify(&text) {
                AccessTrouble::Unauthorized => (
                    format!("the API server refused the credentials of context {ctx}"),
                    access_entry_fix(f),
                ),
                AccessTrouble::CredentialPlugin => (
                    format!("the credential plugin of context {ctx} (`aws eks get-token`) failed"),
                    fixes::kubeconfig_fix(f),
                ),
                AccessTrouble::NoContext => (
                    "kubectl has no usable kubeconfig context".to_string(),
                    fixes::kubeconfig_fix(f),
                ),
                AccessTrouble::Unreachable => (
                    format!("the API server of context {ctx} is unreachable"),
                    fixes::kubeconfig_fix(f),
                ),
                AccessTrouble::Other => (
                    format!("kubectl could not reach the API through context {ctx}"),
                    fixes::kubeconfig_fix(f),
                ),
            };
            let fix = fix.unwrap_or_else(|| {
                Fix::advice("point kubectl at the cluster: `aws eks update-kubeconfig --name <eks-cluster>` (doctor gives the exact command with --hyperpod-cluster)")
            });
            return Ok(vec![Outcome::fail(finding)
                .details(text.lines().map(str::to_string))
                .fix(fix)]);
        }
    };
    let server = str_at(&v, "/serverVersion/gitVersion").unwrap_or("unknown version");
    let ctx = context_name(f);
    let finding = format!("Kubernetes {server} through context {ctx}");
    if let (Some(c), Some(s)) = (minor(&v["clientVersion"]), minor(&v["serverVersion"])) {
        if c.abs_diff(s) > 1 {
            return Ok(vec![Outcome::warn(format!(
                "{finding}; kubectl 1.{c} is more than one minor version away from the server (1.{s})"
            ))
            .fix(Fix::advice("install a kubectl within one minor version of the cluster (https://kubernetes.io/docs/tasks/tools/)"))]);
        }
    }
    Ok(vec![Outcome::pass(finding)])
}

fn normalize(url: &str) -> String {
    url.trim().trim_end_matches('/').to_ascii_lowercase()
}

pub(crate) fn context(f: &Facts) -> Result<Vec<Outcome>, Problem> {
    let eks = f.eks()?;
    let kc = f.kubeconfig()?;
    let ctx = str_at(&kc, "/current-context").unwrap_or("(none)");
    let server = str_at(&kc, "/clusters/0/cluster/server").unwrap_or("");
    let Some(endpoint) = eks.endpoint.as_deref() else {
        return Ok(vec![Outcome::pass(format!(
            "context {ctx} ({server}); EKS cluster {} reports no endpoint to compare",
            eks.name
        ))]);
    };
    if normalize(server) == normalize(endpoint) {
        return Ok(vec![Outcome::pass(format!(
            "context {ctx} points at EKS cluster {}",
            eks.name
        ))]);
    }
    Ok(vec![Outcome::fail(format!(
        "context {ctx} points at {server}, not at EKS cluster {} ({endpoint}); every cluster check below looked at the wrong cluster",
        eks.name
    ))
    .maybe_fix(fixes::kubeconfig_fix(f))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_errors_are_classified() {
        assert_eq!(
            classify("error: You must be logged in to the server (Unauthorized)"),
            AccessTrouble::Unauthorized
        );
        assert_eq!(classify("The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?\ndial tcp: connection refused"), AccessTrouble::Unreachable);
        assert_eq!(
            classify("error: no configuration has been provided, try setting KUBERNETES_MASTER"),
            AccessTrouble::NoContext
        );
        assert_eq!(
            classify("error: context \"x\" does not exist"),
            AccessTrouble::NoContext
        );
        assert_eq!(
            classify("getting credentials: exec: executable aws failed with exit code 255"),
            AccessTrouble::CredentialPlugin
        );
        assert_eq!(
            classify("The connection to the server localhost:8080 was refused - did you specify the right host or port?"),
            AccessTrouble::NoContext
        );
        assert_eq!(
            classify("The connection to the server 10.0.0.1:443 was refused"),
            AccessTrouble::Unreachable
        );
    }

    #[test]
    fn assumed_role_sessions_become_their_role() {
        assert_eq!(
            principal_arn("arn:aws:sts::123456789012:assumed-role/Admin/me@example.com"),
            "arn:aws:iam::123456789012:role/Admin"
        );
        assert_eq!(
            principal_arn("arn:aws:iam::123456789012:user/bob"),
            "arn:aws:iam::123456789012:user/bob"
        );
    }
}
