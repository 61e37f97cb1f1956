//! The rules each `deploy` flag's value must follow; every error names the flag.

use super::EnvVar;
use crate::deploy::check::{env_name_rule, env_value_rule};
use crate::error::{Error, Result};
use crate::validate::{self, quote};

/// Parses `KEY=VALUE` (`--env`).
pub fn parse_env(field: &str, kv: &str) -> Result<EnvVar> {
    let Some((name, value)) = kv.split_once('=') else {
        return Err(Error::invalid(
            field,
            format!("must be KEY=VALUE (got {})", quote(kv)),
        ));
    };
    env_name_rule(name).map_err(|r| Error::invalid(field, format!("variable name {r}")))?;
    env_value_rule(value).map_err(|r| Error::invalid(field, format!("value of {name} {r}")))?;
    Ok(EnvVar {
        name: name.to_string(),
        value: value.to_string(),
    })
}

pub(super) fn check_env_list(field: &str, env: &[EnvVar]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for e in env {
        if !seen.insert(e.name.as_str()) {
            return Err(Error::invalid(
                field,
                format!("{} is given more than once", e.name),
            ));
        }
    }
    if env.len() > 100 {
        return Err(Error::invalid(field, "at most 100 variables"));
    }
    Ok(())
}

pub(super) fn bad(field: &str, rule: &str, got: &str) -> Error {
    Error::invalid(field, format!("{rule} (got {})", quote(got)))
}

/// `Ok` when `ok`, else the error [`bad`] makes for `field`, `rule` and `got`.
pub(super) fn obeys(ok: bool, field: &str, rule: &str, got: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(bad(field, rule, got))
    }
}

/// A TCP port number.
pub(super) fn port(flag: &str, p: i64) -> Result<()> {
    if (1..=65535).contains(&p) {
        Ok(())
    } else {
        Err(Error::invalid(
            flag,
            format!("must be a port number 1-65535 (got {p})"),
        ))
    }
}

pub(super) fn alnum_dash_63(v: &str) -> bool {
    (1..=63).contains(&v.len())
        && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && v.starts_with(|c: char| c.is_ascii_alphanumeric())
        && v.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// JumpStart model ids and SageMaker endpoint names: `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`.
pub fn model_id(field: &str, v: &str) -> Result<()> {
    obeys(
        alnum_dash_63(v),
        field,
        "must be 1-63 letters, digits and hyphens, starting and ending with a letter or digit",
        v,
    )
}

/// SageMaker instance types: `ml.<family>.<size>`.
pub fn instance_type(field: &str, v: &str) -> Result<()> {
    let parts: Vec<&str> = v.split('.').collect();
    let ok = v.len() <= 64
        && parts.len() == 3
        && parts[0] == "ml"
        && parts[1..].iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        });
    obeys(
        ok,
        field,
        "must be a SageMaker instance type such as ml.g5.8xlarge (ml.<family>.<size>)",
        v,
    )
}

/// JumpStart model versions: `^\d{1,4}\.\d{1,4}\.\d{1,4}$`.
pub fn jumpstart_version(field: &str, v: &str) -> Result<()> {
    let parts: Vec<&str> = v.split('.').collect();
    let ok = parts.len() == 3
        && parts
            .iter()
            .all(|p| (1..=4).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()));
    obeys(
        ok,
        field,
        "must be a version such as 1.2.0 (three numbers of 1-4 digits)",
        v,
    )
}

/// `s3://bucket[/prefix]`.
pub fn s3_uri(field: &str, v: &str) -> Result<()> {
    let Some(rest) = v.strip_prefix("s3://") else {
        return Err(bad(
            field,
            "must be an S3 URI such as s3://my-bucket/prefix",
            v,
        ));
    };
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    validate::bucket_name(field, bucket).map_err(|_| {
        bad(
            field,
            "must be an S3 URI whose bucket is a valid bucket name",
            v,
        )
    })?;
    if key.chars().any(|c| c.is_control()) || key.contains(',') || key.contains('=') {
        return Err(bad(
            field,
            "must be an S3 URI whose path has no control characters, ',' or '='",
            v,
        ));
    }
    Ok(())
}

/// A duration flag's value in seconds, by the one rule of [`crate::time::parse_duration`]; the
/// error names the flag.
pub fn parse_duration(field: &str, v: &str) -> Result<u64> {
    crate::time::parse_duration(v).map_err(|rule| bad(field, rule, v))
}

pub(super) fn replicas(field: &str, n: Option<i64>) -> Result<()> {
    match n {
        Some(r) if !(0..=i64::from(i32::MAX)).contains(&r) => Err(Error::invalid(
            field,
            format!("must be 0 or more (got {r})"),
        )),
        _ => Ok(()),
    }
}

pub(super) fn plain_text(field: &str, v: &str, max: usize) -> Result<()> {
    if v.is_empty() || v.chars().count() > max || v.chars().any(|c| c.is_control()) {
        return Err(bad(
            field,
            &format!("must be 1-{max} characters without control characters"),
            v,
        ));
    }
    Ok(())
}

/// CloudWatch metric names, namespaces and dimension names: 1-255 printable characters.
pub(super) fn cloudwatch_name(field: &str, v: &str) -> Result<()> {
    let ok = (1..=255).contains(&v.chars().count())
        && !v.starts_with(':')
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/#: ".contains(c));
    obeys(
        ok,
        field,
        "must be 1-255 letters, digits and . _ - / # : (a CloudWatch name)",
        v,
    )
}

/// Kubernetes resource quantities (`30`, `0.5`, `500m`, `100Gi`), positive.
pub fn quantity(field: &str, v: &str) -> Result<()> {
    static RE: std::sync::OnceLock<Option<regex_lite::Regex>> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex_lite::Regex::new(r"^([0-9]+(\.[0-9]*)?|\.[0-9]+)([KMGTPE]i|[mkMGTPE])?$").ok()
    });
    let nonzero = v.chars().any(|c| ('1'..='9').contains(&c));
    obeys(
        re.as_ref().is_some_and(|r| r.is_match(v)) && nonzero,
        field,
        "must be a positive Kubernetes quantity such as 4, 500m, 100Gi",
        v,
    )
}

/// Container images: `registry/repository[:tag][@digest]`.
pub fn image(field: &str, v: &str) -> Result<()> {
    let ok = (1..=512).contains(&v.len())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c))
        && v.starts_with(|c: char| c.is_ascii_alphanumeric())
        && !v.contains("//")
        && !v.ends_with([':', '/', '@']);
    obeys(ok, field, "must be a container image reference such as 763104351884.dkr.ecr.us-west-2.amazonaws.com/djl-inference:0.32.0-lmi14.0.0-cu124", v)
}

/// A relative URL path (`v1/chat/completions`, `invocations`).
pub(super) fn url_path(field: &str, v: &str) -> Result<()> {
    let ok = (1..=256).contains(&v.len())
        && v.starts_with(|c: char| c.is_ascii_alphanumeric())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._~/-".contains(c))
        && !v.split('/').any(|s| s == "..");
    obeys(
        ok,
        field,
        "must be a URL path without a leading / such as v1/chat/completions",
        v,
    )
}

/// A path (in a bucket or a file system): no control characters, no `..` segment, no URI.
pub(super) fn model_location(field: &str, v: &str) -> Result<()> {
    if v.starts_with("s3://") {
        return Err(bad(
            field,
            "must be the path inside the bucket (the bucket goes in --s3-bucket), not an s3:// URI",
            v,
        ));
    }
    plain_text(field, v, 1024)?;
    if v.split('/').any(|s| s == "..") {
        return Err(bad(field, "must not contain a .. segment", v));
    }
    Ok(())
}

pub(super) fn mount_path(field: &str, v: &str) -> Result<()> {
    plain_text(field, v, 256)?;
    if !v.starts_with('/') || v.contains(':') || v.split('/').any(|s| s == "..") {
        return Err(bad(
            field,
            "must be an absolute path without ':' or .. segments",
            v,
        ));
    }
    Ok(())
}
