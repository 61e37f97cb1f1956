//! Everything checked about a model resource before it is applied: its kind and apiVersion,
//! metadata, the CRD's `v1` schema (after the API server's defaulting), and the rules the CRD
//! cannot express but the operator or Kubernetes enforce later (and too late to be useful).

use serde_json::Value;

use super::kind::{ModelKind, API_VERSION};
use super::schema::{self, Violation};
use crate::error::{Error, Result};

/// A resource that passed every check.
#[derive(Debug, Clone)]
pub struct Checked {
    pub kind: ModelKind,
    pub name: String,
    pub namespace: String,
    /// The resource as given (what is applied; the API server fills in the defaults itself).
    pub resource: Value,
    /// The same with the schema defaults applied, as the API server will store it.
    pub defaulted: Value,
}

impl Checked {
    /// The same resource in namespace `ns` (it named none of its own: see `workflow`).
    pub(crate) fn move_to(&mut self, ns: &str) {
        self.namespace = ns.to_string();
        for doc in [&mut self.resource, &mut self.defaulted] {
            if let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.insert("namespace".into(), Value::from(ns));
            }
        }
    }
}

/// Checks one resource; `default_namespace` is used when it names none.
pub fn check(resource: Value, default_namespace: &str) -> Result<Checked> {
    let mut resource = resource;
    let Some(obj) = resource.as_object_mut() else {
        return Err(Error::invalid(
            "(document)",
            "must be a YAML or JSON object",
        ));
    };
    let kind_s = text(obj, "kind");
    let Some(kind) = ModelKind::from_kind(kind_s) else {
        return Err(Error::invalid(
            "kind",
            format!(
                "must be JumpStartModel or InferenceEndpointConfig (got {})",
                crate::validate::quote(kind_s)
            ),
        ));
    };
    let api = text(obj, "apiVersion");
    if api != API_VERSION {
        return Err(Error::invalid(
            "apiVersion",
            format!(
                "must be {API_VERSION} (the version this tool validates against; got {})",
                crate::validate::quote(api)
            ),
        ));
    }
    let meta = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Default::default()));
    let Some(meta) = meta.as_object_mut() else {
        return Err(Error::invalid("metadata", "must be an object"));
    };
    if !meta.contains_key("namespace") {
        meta.insert("namespace".into(), Value::String(default_namespace.into()));
    }
    let mut violations = Vec::new();
    let name = text(meta, "name").to_string();
    let namespace = text(meta, "namespace").to_string();
    if let Err(e) = model_name("metadata.name", &name) {
        violations.push(violation_of(e));
    }
    if let Err(e) = crate::validate::k8s_label_name("metadata.namespace", &namespace) {
        violations.push(violation_of(e));
    }
    for field in ["labels", "annotations"] {
        if let Some(m) = meta.get(field) {
            match m.as_object() {
                Some(m) => {
                    for (k, v) in m {
                        if !v.is_string() {
                            violations.push(Violation {
                                path: format!("metadata.{field}[{k}]"),
                                rule: "must be a string".into(),
                            });
                        }
                    }
                }
                None => violations.push(Violation {
                    path: format!("metadata.{field}"),
                    rule: "must be a map of strings".into(),
                }),
            }
        }
    }
    violations.extend(label_rules(meta));
    if !resource.get("spec").is_some_and(Value::is_object) {
        // The CRDs leave spec optional; a model without one is created and can never deploy.
        violations.push(Violation {
            path: "spec".into(),
            rule: format!("is required: the operator needs {}", kind.spec_needs()),
        });
    }
    let s = kind.schema()?;
    // The API server prunes null fields before anything else; apply what it would keep.
    prune_nulls(&mut resource);
    let mut defaulted = resource.clone();
    schema::apply_defaults(s, &mut defaulted);
    for mut v in schema::validate(s, &defaulted, "") {
        if kind == ModelKind::JumpStartModel && v.path == "spec.server.environmentVariables" {
            v.rule = "unknown field: the v1 CRD takes environment variables in spec.environmentVariables \
                      (the setup guide's example puts them under spec.server)"
                .into();
        }
        violations.push(v);
    }
    violations.extend(rules(kind, &defaulted));
    if let Some(first) = violations.first() {
        return Err(to_error(first, &violations[1..]));
    }
    Ok(Checked {
        kind,
        name,
        namespace,
        resource,
        defaulted,
    })
}

/// The string at `key` of an object ("" when it is missing or not a string).
fn text<'a>(obj: &'a serde_json::Map<String, Value>, key: &str) -> &'a str {
    obj.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// What the API server would refuse in labels and annotations, found offline.
fn label_rules(meta: &serde_json::Map<String, Value>) -> Vec<Violation> {
    use crate::validate::{label_value_rule, qualified_name_rule, MAX_ANNOTATIONS_BYTES};
    let mut out = Vec::new();
    let mut bad = |path: String, rule: String| out.push(Violation { path, rule });
    for field in ["labels", "annotations"] {
        let Some(m) = meta.get(field).and_then(Value::as_object) else {
            continue;
        };
        let mut total = 0;
        for (k, v) in m {
            let shown: String = k.chars().take(80).collect();
            if let Err(rule) = qualified_name_rule(k) {
                bad(format!("metadata.{field}[{shown}]"), format!("key {rule}"));
            }
            let v = v.as_str().unwrap_or_default();
            total += k.len() + v.len();
            if field == "labels" {
                if let Err(rule) = label_value_rule(v) {
                    bad(format!("metadata.labels[{shown}]"), format!("value {rule}"));
                }
            }
        }
        if field == "annotations" && total > MAX_ANNOTATIONS_BYTES {
            bad(
                "metadata.annotations".into(),
                format!("must total at most {MAX_ANNOTATIONS_BYTES} bytes, keys and values (the API server's limit; these total {total})"),
            );
        }
    }
    out
}

fn prune_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(prune_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(prune_nulls),
        _ => {}
    }
}

/// Model resource names: the operator labels the model's pods `app=<name>`, and label values
/// are at most 63 characters, so the name must be an RFC 1123 label, not just a subdomain.
pub fn model_name(field: &str, v: &str) -> Result<()> {
    crate::validate::k8s_label_name(field, v)
}

fn violation_of(e: Error) -> Violation {
    match e {
        Error::Invalid { field, rule } => Violation { path: field, rule },
        other => Violation {
            path: "(document)".into(),
            rule: other.to_string(),
        },
    }
}

/// One `Error::Invalid` for all violations: the first names the field, the others follow.
pub fn to_error(first: &Violation, rest: &[Violation]) -> Error {
    let mut rule = first.rule.clone();
    if !rest.is_empty() {
        let more: Vec<String> = rest.iter().take(9).map(|v| v.to_string()).collect();
        rule.push_str(&format!("; also {}", more.join("; ")));
        if rest.len() > 9 {
            rule.push_str(&format!("; and {} more", rest.len() - 9));
        }
    }
    Error::invalid(first.path.clone(), rule)
}

fn int_at(v: &Value, ptr: &str) -> Option<i64> {
    v.pointer(ptr).and_then(Value::as_i64)
}

/// Rules beyond the schema (checked on the defaulted resource).
fn rules(kind: ModelKind, v: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut bad = |path: &str, rule: &str| {
        out.push(Violation {
            path: path.into(),
            rule: rule.into(),
        })
    };
    if int_at(v, "/spec/replicas").is_some_and(|r| r < 0) {
        bad("spec.replicas", "must be 0 or more");
    }
    if int_at(v, "/spec/maxDeployTimeInSeconds").is_some_and(|t| t < 1) {
        bad("spec.maxDeployTimeInSeconds", "must be at least 1 second");
    }
    if let (Some(min), Some(max)) = (
        int_at(v, "/spec/autoScalingSpec/minReplicaCount"),
        int_at(v, "/spec/autoScalingSpec/maxReplicaCount"),
    ) {
        if min > max {
            bad(
                "spec.autoScalingSpec.minReplicaCount",
                &format!("must not be greater than maxReplicaCount ({min} > {max})"),
            );
        }
    }
    let env_path = kind.env_pointer();
    if let Some(list) = v.pointer(env_path).and_then(Value::as_array) {
        let base = env_path.trim_start_matches('/').replace('/', ".");
        let mut seen = std::collections::HashSet::new();
        for (i, e) in list.iter().enumerate() {
            let name = e.get("name").and_then(Value::as_str).unwrap_or_default();
            if let Err(rule) = env_name_rule(name) {
                bad(&format!("{base}[{i}].name"), &rule);
            } else if !seen.insert(name.to_string()) {
                bad(
                    &format!("{base}[{i}].name"),
                    &format!("duplicate variable {name}"),
                );
            }
            if let Some(val) = e.get("value").and_then(Value::as_str) {
                if let Err(rule) = env_value_rule(val) {
                    bad(&format!("{base}[{i}].value"), &rule);
                }
            }
        }
    }
    if kind == ModelKind::InferenceEndpointConfig {
        let placement = ["instanceType", "instanceTypes", "nodeAffinity"]
            .iter()
            .filter(|f| v["spec"].get(**f).is_some())
            .count();
        if placement != 1 {
            bad(
                "spec.instanceType",
                "exactly one of spec.instanceType, spec.instanceTypes and spec.nodeAffinity must be set",
            );
        }
        if let Some(list) = v.pointer("/spec/instanceTypes").and_then(Value::as_array) {
            for (i, t) in list.iter().enumerate() {
                if !t.as_str().is_some_and(|t| t.starts_with("ml.")) {
                    bad(&format!("spec.instanceTypes[{i}]"), "must start with ml.");
                }
            }
        }
        let src = v
            .pointer("/spec/modelSourceConfig/modelSourceType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let needs = match src {
            "s3" => Some("s3Storage"),
            "fsx" => Some("fsxStorage"),
            "huggingface" => Some("huggingFaceModel"),
            _ => None,
        };
        if let Some(field) = needs {
            if v["spec"]["modelSourceConfig"].get(field).is_none() {
                bad(
                    &format!("spec.modelSourceConfig.{field}"),
                    &format!("is required when modelSourceType is {src}"),
                );
            }
        }
        if let Some(r) = v
            .pointer("/spec/modelSourceConfig/s3Storage/region")
            .and_then(Value::as_str)
        {
            if let Err(e) = crate::validate::region("spec.modelSourceConfig.s3Storage.region", r) {
                out_push(&mut bad, e);
            }
        }
        if let Some(b) = v
            .pointer("/spec/modelSourceConfig/s3Storage/bucketName")
            .and_then(Value::as_str)
        {
            if b.starts_with("s3://") || b.contains('/') {
                bad(
                    "spec.modelSourceConfig.s3Storage.bucketName",
                    "must be a bucket name only (no s3:// and no path; the path goes in modelLocation)",
                );
            } else if let Err(e) =
                crate::validate::bucket_name("spec.modelSourceConfig.s3Storage.bucketName", b)
            {
                out_push(&mut bad, e);
            }
        }
        // Kubernetes refuses extended resources (GPUs) whose request differs from the limit.
        let gpu_req = v.pointer("/spec/worker/resources/requests/nvidia.com~1gpu");
        let gpu_lim = v.pointer("/spec/worker/resources/limits/nvidia.com~1gpu");
        if let (Some(r), Some(l)) = (gpu_req, gpu_lim) {
            if quantity_text(r) != quantity_text(l) {
                bad(
                    "spec.worker.resources.requests[nvidia.com/gpu]",
                    &format!(
                        "must equal the limit for GPUs ({} != {})",
                        quantity_text(r),
                        quantity_text(l)
                    ),
                );
            }
        }
    }
    out
}

fn out_push(bad: &mut impl FnMut(&str, &str), e: Error) {
    let v = violation_of(e);
    bad(&v.path, &v.rule);
}

fn quantity_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Environment variable names: a C identifier. (Kubernetes allows more, but the model servers
/// read them from a shell or Python, where anything else is unusable.)
pub fn env_name_rule(name: &str) -> std::result::Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 256
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "must be a variable name: letters, digits and _, not starting with a digit (got {})",
            crate::validate::quote(name)
        ))
    }
}

/// Environment variable values: one line, no control characters, no shell-style `${...}` (no
/// shell expands it; Kubernetes expands only `$(VAR)`), and not wrapped in quotes that the shell
/// did not remove (they would reach the model server literally).
pub fn env_value_rule(value: &str) -> std::result::Result<(), String> {
    let shown = crate::validate::quote(value);
    if value.chars().any(|c| c.is_control()) {
        return Err(format!(
            "must be one line without control characters (newline, tab, NUL...) (got {shown})"
        ));
    }
    if value.contains("${") {
        return Err(format!(
            "contains ${{...}}, which nothing expands here (Kubernetes expands only $(VAR)); write the value itself (got {shown})"
        ));
    }
    let quoted = value.len() >= 2
        && ((value.starts_with('"') && value.ends_with('"'))
            || (value.starts_with('\'') && value.ends_with('\'')));
    if quoted {
        return Err(format!(
            "is wrapped in quotes that would reach the model server literally; drop them (got {shown})"
        ));
    }
    if value.len() > 32 * 1024 {
        return Err("must be at most 32 KiB".into());
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::json;

    /// The guide's JumpStartModel example (setup guide, "Deploying Models").
    pub fn guide_jumpstart() -> Value {
        crate::render::parse_yaml(include_str!(
            "../../tests/deploy_fixtures/guide-jumpstart-model.yaml"
        ))
        .unwrap()
    }

    /// The same with the environment variables where the v1 CRD has them.
    pub fn guide_jumpstart_fixed() -> Value {
        let mut v = guide_jumpstart();
        let env = v["spec"]["server"]
            .as_object_mut()
            .unwrap()
            .remove("environmentVariables")
            .unwrap();
        v["spec"]["environmentVariables"] = env;
        v
    }

    #[test]
    fn guide_jumpstart_example_is_valid_once_defaulted_and_its_env_moved() {
        let e = check(guide_jumpstart(), "default").unwrap_err().to_string();
        assert!(
            e.starts_with("invalid spec.server.environmentVariables: unknown field: the v1 CRD takes environment variables in spec.environmentVariables"),
            "{e}"
        );
        let c = check(guide_jumpstart_fixed(), "default").unwrap();
        assert_eq!(c.kind, ModelKind::JumpStartModel);
        assert_eq!(c.defaulted["spec"]["model"]["acceptEula"], false);
        assert_eq!(c.defaulted["spec"]["replicas"], 1);
        assert!(c.resource["spec"]["model"].get("acceptEula").is_none());
    }

    #[test]
    fn errors_name_the_field_and_the_rule() {
        let mut v = guide_jumpstart_fixed();
        v["spec"]["server"]["instanceType"] = json!("c5.2xlarge");
        let e = check(v, "default").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid spec.server.instanceType: must match ^ml\\..* (got \"c5.2xlarge\")"
        );
        let mut v = guide_jumpstart_fixed();
        v["spec"]["replicas"] = json!(-2);
        v["spec"]["environmentVariables"][0]["value"] = json!("${HOME}/x");
        let e = check(v, "default").unwrap_err().to_string();
        assert!(e.starts_with("invalid spec.replicas: must be 0 or more; also spec.environmentVariables[0].value: contains ${...}"), "{e}");
        let mut v = guide_jumpstart_fixed();
        v["metadata"]["name"] = json!("My_Model");
        let e = check(v, "default").unwrap_err().to_string();
        assert!(
            e.starts_with("invalid metadata.name: value must be a lowercase RFC 1123 label"),
            "{e}"
        );
        let mut v = guide_jumpstart_fixed();
        v["apiVersion"] = json!("inference.sagemaker.aws.amazon.com/v1alpha1");
        assert!(check(v, "default")
            .unwrap_err()
            .to_string()
            .starts_with("invalid apiVersion: must be"));
    }

    #[test]
    fn env_rules() {
        for ok in ["x", "a b", "{\"json\": 1}", "$(OTHER)", "it's"] {
            assert!(env_value_rule(ok).is_ok(), "{ok}");
        }
        for bad in ["a\nb", "\"quoted\"", "'q'", "${HOME}", "tab\there"] {
            assert!(env_value_rule(bad).is_err(), "{bad}");
        }
        for bad in ["", "1X", "A-B", "A B", "A\"", "A$"] {
            assert!(env_name_rule(bad).is_err(), "{bad}");
        }
    }
}
