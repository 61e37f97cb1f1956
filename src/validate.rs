//! Rules for everything a user types, checked before any command runs. Each error names the
//! flag (or field path) and the rule it broke.

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

fn is_alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// SageMaker HyperPod cluster names: `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`.
pub(crate) fn hyperpod_cluster_name(field: &str, v: &str) -> Result<()> {
    let ok = !v.is_empty()
        && v.len() <= 63
        && v.chars().all(|c| is_alnum(c) || c == '-')
        && v.starts_with(is_alnum)
        && v.ends_with(is_alnum);
    rule(
        ok,
        field,
        v,
        "must be 1-63 letters, digits and hyphens, starting and ending with a letter or digit",
    )
}

/// EKS cluster names: `^[0-9A-Za-z][A-Za-z0-9\-_]*$`, at most 100 characters.
pub(crate) fn eks_cluster_name(field: &str, v: &str) -> Result<()> {
    let ok = !v.is_empty()
        && v.len() <= 100
        && v.starts_with(is_alnum)
        && v.chars().all(|c| is_alnum(c) || c == '-' || c == '_');
    rule(
        ok,
        field,
        v,
        "must be 1-100 letters, digits, hyphens and underscores, starting with a letter or digit",
    )
}

/// AWS region codes such as `us-west-2`, `us-gov-west-1`, `ap-southeast-4`.
pub(crate) fn region(field: &str, v: &str) -> Result<()> {
    let parts: Vec<&str> = v.split('-').collect();
    let ok = parts.len() >= 3
        && parts.len() <= 4
        && v.len() <= 25
        && parts[0].len() == 2
        && parts[0].chars().all(|c| c.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    rule(ok, field, v, "must be an AWS region code such as us-west-2")
}

/// S3 bucket names (general purpose buckets). Accepts and strips a leading `s3://` and trailing `/`.
pub(crate) fn bucket_name(field: &str, v: &str) -> Result<String> {
    let name = v.strip_prefix("s3://").unwrap_or(v).trim_end_matches('/');
    let ipv4 = name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok());
    let ok = (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && !name.contains("..")
        && !ipv4
        && !name.starts_with("xn--")
        && !name.ends_with("-s3alias");
    rule(
        ok,
        field,
        v,
        "must be an S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit",
    )?;
    Ok(name.to_string())
}

/// IAM role names: `[\w+=,.@-]{1,64}`.
pub(crate) fn iam_role_name(field: &str, v: &str) -> Result<()> {
    let ok = (1..=64).contains(&v.len()) && v.chars().all(iam_name_char);
    rule(
        ok,
        field,
        v,
        "must be 1-64 characters of letters, digits and +=,.@_-",
    )
}

/// IAM managed policy names: `[\w+=,.@-]{1,128}`.
pub(crate) fn iam_policy_name(field: &str, v: &str) -> Result<()> {
    let ok = (1..=128).contains(&v.len()) && v.chars().all(iam_name_char);
    rule(
        ok,
        field,
        v,
        "must be 1-128 characters of letters, digits and +=,.@_-",
    )
}

fn iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)
}

/// IAM role ARNs.
pub(crate) fn role_arn(field: &str, v: &str) -> Result<()> {
    let ok = v.starts_with("arn:aws") && {
        let parts: Vec<&str> = v.splitn(6, ':').collect();
        parts.len() == 6
            && parts[2] == "iam"
            && parts[4].len() == 12
            && parts[4].chars().all(|c| c.is_ascii_digit())
            && parts[5].starts_with("role/")
            && parts[5].len() > 5
            && parts[5].chars().all(|c| iam_name_char(c) || c == '/')
    };
    rule(
        ok,
        field,
        v,
        "must be an IAM role ARN such as arn:aws:iam::123456789012:role/Name",
    )
}

/// Kubernetes object names (RFC 1123 subdomain, at most 253 characters).
pub(crate) fn k8s_name(field: &str, v: &str) -> Result<()> {
    let ok = (1..=253).contains(&v.len())
        && v.split('.').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && p.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && p.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    rule(ok, field, v, "must be a lowercase RFC 1123 name: letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters")
}

/// Kubernetes namespaces and other RFC 1123 labels (at most 63 characters).
pub(crate) fn k8s_label_name(field: &str, v: &str) -> Result<()> {
    let ok = (1..=63).contains(&v.len())
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && v.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && v.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit());
    rule(ok, field, v, "must be a lowercase RFC 1123 label: at most 63 letters, digits and '-', starting and ending with a letter or digit")
}

/// The API server's limit on all annotations of an object together (keys and values, bytes).
pub(crate) const MAX_ANNOTATIONS_BYTES: usize = 256 * 1024;

/// Label and annotation keys: `[prefix/]name`, the prefix a DNS subdomain (at most 253), the
/// name at most 63 of `[A-Za-z0-9._-]`, starting and ending alphanumeric.
pub(crate) fn qualified_name_rule(key: &str) -> std::result::Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if k8s_name("key", p).is_err() {
            return Err(
                "its prefix (before /) must be a lowercase DNS subdomain of at most 253 characters"
                    .into(),
            );
        }
    }
    if label_value_rule(name).is_err() || name.is_empty() {
        return Err("must be [prefix/]name, the name 1-63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit".into());
    }
    Ok(())
}

/// Label values: empty, or at most 63 of `[A-Za-z0-9._-]`, starting and ending alphanumeric.
pub(crate) fn label_value_rule(v: &str) -> std::result::Result<(), String> {
    let ok = v.is_empty()
        || (v.len() <= 63
            && v.chars().all(|c| is_alnum(c) || "-_.".contains(c))
            && v.starts_with(is_alnum)
            && v.ends_with(is_alnum));
    if ok {
        Ok(())
    } else {
        Err("must be empty or at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit".into())
    }
}

fn rule(ok: bool, field: &str, value: &str, text: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("{} {text} (got {})", "value", quote(value)),
        ))
    }
}

/// Shows a user value safely inside an error message.
pub(crate) fn quote(v: &str) -> String {
    serde_json::Value::String(v.to_string()).to_string()
}

/// Shortens a derived IAM name to `max` characters deterministically: the longest prefix that
/// fits, then `-` and 8 hex digits of the full name's SHA-256, so distinct inputs stay distinct.
pub(crate) fn shorten(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let digest = Sha256::digest(name.as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let keep = max - 9;
    let mut prefix: String = name.chars().take(keep).collect();
    while prefix.ends_with('-') {
        prefix.pop();
    }
    format!("{prefix}-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names() {
        assert!(hyperpod_cluster_name("--hyperpod-cluster", "my-hp-1").is_ok());
        for bad in ["", "-a", "a-", "a_b", "a b", "a;rm -rf", &"a".repeat(64)] {
            let e = hyperpod_cluster_name("--hyperpod-cluster", bad).unwrap_err();
            assert!(
                e.to_string()
                    .starts_with("invalid --hyperpod-cluster: value must be"),
                "{e}"
            );
        }
    }

    #[test]
    fn regions() {
        for ok in ["us-west-2", "us-gov-west-1", "ap-southeast-4", "eu-south-2"] {
            assert!(region("--region", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "us-west",
            "US-WEST-2",
            "us_west_2",
            "us-west-2;",
            "us-west-x",
        ] {
            assert!(region("--region", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn buckets() {
        assert_eq!(
            bucket_name("--s3-bucket", "s3://my-bucket/").unwrap(),
            "my-bucket"
        );
        for bad in [
            "ab",
            "My-Bucket",
            "a..b",
            "192.168.1.1",
            "-abc",
            "abc-",
            "xn--abc",
            "a\"b",
            "a b",
        ] {
            assert!(bucket_name("--s3-bucket", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shortening_is_deterministic_and_bounded() {
        let long = format!("HyperpodInferenceRole-{}", "x".repeat(63));
        let a = shorten(&long, 64);
        assert_eq!(a.len(), 64);
        assert_eq!(a, shorten(&long, 64));
        assert_ne!(a, shorten(&format!("{long}y"), 64));
        assert!(iam_role_name("r", &a).is_ok());
        assert_eq!(shorten("short", 64), "short");
    }

    #[test]
    fn role_arns() {
        assert!(role_arn("--x", "arn:aws:iam::123456789012:role/My-Role").is_ok());
        assert!(role_arn("--x", "arn:aws:iam::123:role/x").is_err());
        assert!(role_arn("--x", "arn:aws:iam::123456789012:user/x").is_err());
    }
}
