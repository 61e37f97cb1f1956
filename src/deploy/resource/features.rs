//! What both kinds share beyond the seed's examples (the v1 CRDs' common `spec` fields):
//! intelligent routing, KV cache, metrics, load balancer, custom TLS certificate, DNS, data
//! capture, tags; and the overrides for whatever a flag cannot express well (`--set
//! PATH=VALUE`, `--values FILE`), merged over the rendered resource before it is checked
//! against the CRD.

use serde_json::{json, Map, Value};

use super::rules::{bad, obeys, plain_text, port, s3_uri};
use crate::error::{Error, Result};

/// The CRDs' `intelligentRoutingSpec.routingStrategy` values.
pub(super) const ROUTING_STRATEGIES: [&str; 4] =
    ["prefixaware", "kvaware", "session", "roundrobin"];
/// The CRDs' `loadBalancer.routingAlgorithm` values.
pub(super) const ROUTING_ALGORITHMS: [&str; 2] = ["least_outstanding_requests", "round_robin"];

#[derive(Debug, Clone, Default)]
pub struct Features {
    /// `intelligentRoutingSpec` (enabled, with this strategy).
    pub routing_strategy: Option<String>,
    /// `kvCacheSpec`.
    pub l1_cache: bool,
    pub l2_cache_backend: Option<String>,
    pub l2_cache_url: Option<String>,
    pub cache_config_file: Option<String>,
    /// `metrics`.
    pub metrics: bool,
    pub metrics_scrape_interval: Option<i64>,
    pub model_metrics_path: Option<String>,
    pub model_metrics_port: Option<i64>,
    /// `loadBalancer`.
    pub health_check_path: Option<String>,
    pub routing_algorithm: Option<String>,
    /// `tlsConfig.customCertificateConfig`.
    pub acm_cert_arn: Option<String>,
    pub domain_name: Option<String>,
    /// `dnsConfig.hostedZoneId`.
    pub hosted_zone_id: Option<String>,
    /// `dataCapture.s3Uri` (capture enabled at the SageMaker endpoint).
    pub data_capture_s3_uri: Option<String>,
    /// `tags` (InferenceEndpointConfig only: the JumpStartModel CRD has none).
    pub tags: Vec<(String, String)>,
}

impl Features {
    /// The `spec` fields these flags ask for, checked (errors name the flag).
    pub fn to_spec(&self, tags_allowed: bool) -> Result<Map<String, Value>> {
        let mut spec = Map::new();
        if let Some(s) = &self.routing_strategy {
            one_of("--routing-strategy", s, &ROUTING_STRATEGIES)?;
            spec.insert(
                "intelligentRoutingSpec".into(),
                json!({"enabled": true, "routingStrategy": s}),
            );
        }
        let l2 = self.l2_cache_backend.is_some() || self.l2_cache_url.is_some();
        if self.l1_cache || l2 || self.cache_config_file.is_some() {
            let mut kv = json!({"enableL1Cache": self.l1_cache, "enableL2Cache": l2});
            if l2 {
                let backend = self.l2_cache_backend.as_deref().ok_or_else(|| {
                    Error::invalid("--l2-cache-backend", "is required with --l2-cache-url")
                })?;
                name_like("--l2-cache-backend", backend)?;
                let mut l2spec = json!({"l2CacheBackend": backend});
                if let Some(u) = &self.l2_cache_url {
                    url("--l2-cache-url", u)?;
                    l2spec["l2CacheLocalUrl"] = json!(u);
                }
                kv["l2CacheSpec"] = l2spec;
            }
            if let Some(f) = &self.cache_config_file {
                plain_text("--cache-config-file", f, 1024)?;
                kv["cacheConfigFile"] = json!(f);
            }
            spec.insert("kvCacheSpec".into(), kv);
        }
        let metric_detail = self.metrics_scrape_interval.is_some()
            || self.model_metrics_path.is_some()
            || self.model_metrics_port.is_some();
        if self.metrics || metric_detail {
            if !self.metrics {
                return Err(Error::invalid(
                    "--metrics",
                    "is required with --metrics-scrape-interval, --model-metrics-path and --model-metrics-port",
                ));
            }
            let mut m = json!({"enabled": true});
            if let Some(i) = self.metrics_scrape_interval {
                if !(1..=3600).contains(&i) {
                    return Err(Error::invalid(
                        "--metrics-scrape-interval",
                        format!("must be 1-3600 seconds (got {i})"),
                    ));
                }
                m["metricsScrapeIntervalSeconds"] = json!(i);
            }
            if self.model_metrics_path.is_some() || self.model_metrics_port.is_some() {
                let mut mm = json!({});
                if let Some(p) = &self.model_metrics_path {
                    http_path("--model-metrics-path", p)?;
                    mm["path"] = json!(p);
                }
                if let Some(p) = self.model_metrics_port {
                    port("--model-metrics-port", p)?;
                    mm["port"] = json!(p);
                }
                m["modelMetrics"] = mm;
            }
            spec.insert("metrics".into(), m);
        }
        if self.health_check_path.is_some() || self.routing_algorithm.is_some() {
            let mut lb = json!({});
            if let Some(p) = &self.health_check_path {
                http_path("--health-check-path", p)?;
                lb["healthCheckPath"] = json!(p);
            }
            if let Some(a) = &self.routing_algorithm {
                one_of("--routing-algorithm", a, &ROUTING_ALGORITHMS)?;
                lb["routingAlgorithm"] = json!(a);
            }
            spec.insert("loadBalancer".into(), lb);
        }
        match (&self.acm_cert_arn, &self.domain_name) {
            (Some(arn), Some(domain)) => {
                acm_arn("--acm-cert-arn", arn)?;
                dns_name("--domain-name", domain)?;
                spec.insert(
                    "tlsConfig".into(),
                    json!({"customCertificateConfig": {"acmArn": arn, "domainName": domain}}),
                );
            }
            (Some(_), None) => {
                return Err(Error::invalid(
                    "--domain-name",
                    "is required with --acm-cert-arn (the certificate's domain)",
                ))
            }
            (None, Some(_)) => {
                return Err(Error::invalid(
                    "--acm-cert-arn",
                    "is required with --domain-name (the ACM certificate for it)",
                ))
            }
            (None, None) => {}
        }
        if let Some(z) = &self.hosted_zone_id {
            let ok = (2..=32).contains(&z.len())
                && z.starts_with('Z')
                && z.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            obeys(
                ok,
                "--hosted-zone-id",
                "must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ",
                z,
            )?;
            spec.insert("dnsConfig".into(), json!({"hostedZoneId": z}));
        }
        if let Some(u) = &self.data_capture_s3_uri {
            s3_uri("--data-capture-s3-uri", u)?;
            spec.insert(
                "dataCapture".into(),
                json!({"s3Uri": u, "sagemakerEndpoint": {"enabled": true}}),
            );
        }
        if !self.tags.is_empty() {
            if !tags_allowed {
                return Err(Error::invalid(
                    "--tag",
                    "only `deploy custom` takes tags (the JumpStartModel CRD has no tags field)",
                ));
            }
            let mut list = Vec::new();
            for (k, v) in &self.tags {
                let ok = (1..=128).contains(&k.chars().count()) && !k.starts_with("aws:");
                obeys(
                    ok,
                    "--tag",
                    "keys must be 1-128 characters and not start with aws:",
                    k,
                )?;
                plain_text("--tag", v, 256)?;
                list.push(json!({"name": k, "value": v}));
            }
            spec.insert("tags".into(), Value::Array(list));
        }
        Ok(spec)
    }
}

fn one_of(flag: &str, v: &str, allowed: &[&str]) -> Result<()> {
    let rule = format!("must be one of {}", allowed.join(", "));
    obeys(allowed.contains(&v), flag, &rule, v)
}

fn name_like(flag: &str, v: &str) -> Result<()> {
    let ok = (1..=63).contains(&v.len())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    obeys(ok, flag, "must be 1-63 letters, digits and - _ .", v)
}

fn url(flag: &str, v: &str) -> Result<()> {
    let ok = v.len() <= 2048
        && v.split_once("://").is_some_and(|(scheme, rest)| {
            !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_lowercase()) && !rest.is_empty()
        })
        && !v.chars().any(|c| c.is_whitespace() || c.is_control());
    obeys(ok, flag, "must be a URL such as redis://cache:6379", v)
}

/// An HTTP path such as `/ping`.
fn http_path(flag: &str, v: &str) -> Result<()> {
    let ok = (1..=256).contains(&v.len())
        && v.starts_with('/')
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._~/-".contains(c));
    obeys(
        ok,
        flag,
        "must be an HTTP path such as /ping (letters, digits, . _ ~ / -)",
        v,
    )
}

fn acm_arn(flag: &str, v: &str) -> Result<()> {
    let parts: Vec<&str> = v.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "acm"
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].starts_with("certificate/")
        && parts[5].len() > "certificate/".len()
        && v.chars().all(|c| c.is_ascii_graphic());
    obeys(
        ok,
        flag,
        "must be an ACM certificate ARN, arn:aws:acm:REGION:ACCOUNT:certificate/ID",
        v,
    )
}

fn dns_name(flag: &str, v: &str) -> Result<()> {
    let d = v.strip_prefix("*.").unwrap_or(v);
    let ok = (1..=253).contains(&d.len())
        && d.contains('.')
        && d.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    obeys(
        ok,
        flag,
        "must be a domain name such as models.example.com",
        v,
    )
}

/// Where `--set` may write: the spec, labels and annotations (never kind, name or namespace,
/// which the flags own).
const SETTABLE_ROOTS: [&str; 3] = ["spec", "metadata.labels", "metadata.annotations"];

/// One `--set PATH=VALUE`: `PATH` is dot-separated keys with `[N]` list indexes
/// (`spec.worker.args[0]`, `\.` for a dot inside a key); `VALUE` is JSON when it parses as JSON
/// (numbers, true/false, null, "strings", [lists], {objects}), else a plain string.
#[derive(Debug, Clone, PartialEq)]
pub struct SetOverride {
    pub path: Vec<PathPart>,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPart {
    Key(String),
    Index(usize),
}

/// The most a `--set` list index may be (an index past the end appends; far past it is a typo).
const MAX_INDEX: usize = 255;

impl SetOverride {
    pub fn parse(flag: &str, s: &str) -> Result<Self> {
        let Some((path, value)) = s.split_once('=') else {
            return Err(bad(
                flag,
                "must be PATH=VALUE, e.g. spec.worker.workingDir=/opt/app",
                s,
            ));
        };
        let parts = parse_path(flag, path)?;
        // A key strictly below one of the roots (never a root itself).
        let joined = keys_prefix(&parts);
        if !SETTABLE_ROOTS
            .iter()
            .any(|r| joined.starts_with(&format!("{r}.")))
        {
            return Err(bad(
                flag,
                "PATH must be below spec, metadata.labels or metadata.annotations (e.g. spec.worker.workingDir)",
                path,
            ));
        }
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.into()));
        Ok(SetOverride { path: parts, value })
    }

    /// Writes the value into `doc`, making the objects and lists on the way.
    pub fn apply(&self, flag: &str, doc: &mut Value) -> Result<()> {
        let mut at = doc;
        for (i, part) in self.path.iter().enumerate() {
            let last = i + 1 == self.path.len();
            let next_is_index = matches!(self.path.get(i + 1), Some(PathPart::Index(_)));
            let empty = if next_is_index { json!([]) } else { json!({}) };
            at = match part {
                PathPart::Key(k) => {
                    if at.is_null() {
                        *at = json!({});
                    }
                    let Some(obj) = at.as_object_mut() else {
                        return Err(Error::invalid(
                            flag,
                            format!(
                                "{} is not an object, so it has no key {k}",
                                self.display_to(i)
                            ),
                        ));
                    };
                    obj.entry(k.clone()).or_insert(empty)
                }
                PathPart::Index(n) => {
                    if at.is_null() {
                        *at = json!([]);
                    }
                    let Some(list) = at.as_array_mut() else {
                        return Err(Error::invalid(
                            flag,
                            format!("{} is not a list, so it has no [{n}]", self.display_to(i)),
                        ));
                    };
                    if *n > list.len() {
                        return Err(Error::invalid(
                            flag,
                            format!(
                                "{} has {} items: [{n}] would leave a gap (use [{}] to add one)",
                                self.display_to(i),
                                list.len(),
                                list.len()
                            ),
                        ));
                    }
                    if *n == list.len() {
                        list.push(empty);
                    }
                    &mut list[*n]
                }
            };
            if last {
                *at = self.value.clone();
            }
        }
        Ok(())
    }

    fn display_to(&self, end: usize) -> String {
        display_path(&self.path[..end])
    }
}

fn keys_prefix(parts: &[PathPart]) -> String {
    parts
        .iter()
        .take_while(|p| matches!(p, PathPart::Key(_)))
        .map(|p| match p {
            PathPart::Key(k) => k.as_str(),
            PathPart::Index(_) => "",
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn display_path(parts: &[PathPart]) -> String {
    let mut s = String::new();
    for p in parts {
        match p {
            PathPart::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            PathPart::Index(n) => s.push_str(&format!("[{n}]")),
        }
    }
    s
}

fn parse_path(flag: &str, path: &str) -> Result<Vec<PathPart>> {
    let rule = "PATH must be keys of letters, digits, - _ / (\\. for a dot) separated by dots, with [N] list indexes";
    if path.is_empty() || path.len() > 512 {
        return Err(bad(flag, rule, path));
    }
    let mut parts = Vec::new();
    let mut key = String::new();
    let mut chars = path.chars().peekable();
    let mut after_index = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                chars.next();
                key.push('.');
            }
            '.' => {
                if key.is_empty() && !after_index {
                    return Err(bad(flag, rule, path));
                }
                if !key.is_empty() {
                    parts.push(PathPart::Key(std::mem::take(&mut key)));
                }
                after_index = false;
            }
            '[' => {
                if !key.is_empty() {
                    parts.push(PathPart::Key(std::mem::take(&mut key)));
                }
                if parts.is_empty() {
                    return Err(bad(flag, rule, path));
                }
                let digits: String = chars.by_ref().take_while(|c| *c != ']').collect();
                let n: usize = digits
                    .parse()
                    .ok()
                    .filter(|n| *n <= MAX_INDEX && !digits.starts_with('+'))
                    .ok_or_else(|| bad(flag, rule, path))?;
                parts.push(PathPart::Index(n));
                after_index = true;
                if chars.peek().is_some_and(|c| *c != '.' && *c != '[') {
                    return Err(bad(flag, rule, path));
                }
            }
            c if c.is_ascii_alphanumeric() || "-_/".contains(c) => {
                if after_index {
                    return Err(bad(flag, rule, path));
                }
                key.push(c);
            }
            _ => return Err(bad(flag, rule, path)),
        }
    }
    if !key.is_empty() {
        parts.push(PathPart::Key(key));
    } else if !after_index {
        return Err(bad(flag, rule, path));
    }
    Ok(parts)
}

/// What a flag cannot express well: a partial document (`--values FILE`) merged over the
/// rendered resource, then each `--set`, in order (later wins), as Helm does.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub values: Option<Value>,
    pub sets: Vec<SetOverride>,
}

impl Overrides {
    /// `extra_spec` (the kind's own extra fields), `features`, then the overrides, merged over
    /// the rendered resource.
    pub fn apply_all(&self, doc: &mut Value, extra_spec: Map<String, Value>) -> Result<()> {
        merge(&mut doc["spec"], &Value::Object(extra_spec));
        if let Some(v) = &self.values {
            check_values_doc("--values", v)?;
            merge(doc, v);
        }
        for s in &self.sets {
            s.apply("--set", doc)?;
        }
        Ok(())
    }
}

/// Merges `over` into `base`: objects key by key, anything else replaced.
pub(super) fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// A `--values` document: only `spec`, `metadata.labels` and `metadata.annotations` may be in it.
pub(super) fn check_values_doc(flag: &str, doc: &Value) -> Result<()> {
    let Some(obj) = doc.as_object() else {
        return Err(Error::invalid(
            flag,
            "must be a YAML mapping with spec (and metadata.labels/annotations) to merge over the flags",
        ));
    };
    for (k, v) in obj {
        match k.as_str() {
            "spec" if v.is_object() => {}
            "metadata" => {
                let ok = v
                    .as_object()
                    .is_some_and(|m| m.keys().all(|k| k == "labels" || k == "annotations"));
                if !ok {
                    return Err(Error::invalid(
                        flag,
                        "may set only metadata.labels and metadata.annotations (name and namespace come from the flags)",
                    ));
                }
            }
            other => {
                return Err(Error::invalid(
                    flag,
                    format!("may hold spec and metadata only (found {other})"),
                ))
            }
        }
    }
    Ok(())
}
