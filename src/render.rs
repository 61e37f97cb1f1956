//! Embedded minijinja templates: strict about undefined values, no auto-escaping (values enter
//! documents only through `tojson`), and every rendered document parsed back before use.

use std::sync::OnceLock;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// Every template, embedded at build time. Names are paths under `templates/`.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "iam/irsa-trust.json.j2",
        include_str!("../templates/iam/irsa-trust.json.j2"),
    ),
    (
        "iam/operator-permissions.json.j2",
        include_str!("../templates/iam/operator-permissions.json.j2"),
    ),
    (
        "iam/s3-mountpoint.json.j2",
        include_str!("../templates/iam/s3-mountpoint.json.j2"),
    ),
    (
        "iam/s3-model-buckets.json.j2",
        include_str!("../templates/iam/s3-model-buckets.json.j2"),
    ),
    (
        "iam/keda-permissions.json.j2",
        include_str!("../templates/iam/keda-permissions.json.j2"),
    ),
    (
        "iam/tls-bucket.json.j2",
        include_str!("../templates/iam/tls-bucket.json.j2"),
    ),
    (
        "iam/alb-controller-v2.13.0.json",
        include_str!("../templates/iam/alb-controller-v2.13.0.json"),
    ),
    (
        "k8s/namespace.yaml.j2",
        include_str!("../templates/k8s/namespace.yaml.j2"),
    ),
    (
        "k8s/service-account.yaml.j2",
        include_str!("../templates/k8s/service-account.yaml.j2"),
    ),
    (
        "k8s/nvidia-device-plugin.yaml.j2",
        include_str!("../templates/k8s/nvidia-device-plugin.yaml.j2"),
    ),
    (
        "k8s/jumpstart-model.yaml.j2",
        include_str!("../templates/k8s/jumpstart-model.yaml.j2"),
    ),
    (
        "k8s/inference-endpoint-config.yaml.j2",
        include_str!("../templates/k8s/inference-endpoint-config.yaml.j2"),
    ),
    (
        "helm/operator-values.yaml.j2",
        include_str!("../templates/helm/operator-values.yaml.j2"),
    ),
    (
        "addon/operator-configuration.json.j2",
        include_str!("../templates/addon/operator-configuration.json.j2"),
    ),
];

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Must be set before templates are added: the escape mode is fixed per template on add.
        env.set_auto_escape_callback(|_| AutoEscape::None);
        for (name, src) in TEMPLATES {
            // A template that does not compile is a build defect; the unit tests render every one.
            if let Err(e) = env.add_template(name, src) {
                panic!("embedded template {name} does not compile: {e}");
            }
        }
        env
    })
}

/// Renders a template to text.
pub fn render_text<C: Serialize>(name: &str, ctx: &C) -> Result<String> {
    let tmpl = env().get_template(name).map_err(|e| Error::Template {
        name: name.to_string(),
        detail: e.to_string(),
    })?;
    tmpl.render(minijinja::value::Serde(ctx))
        .map_err(|e| Error::Template {
            name: name.to_string(),
            detail: format!("{e:#}"),
        })
}

/// Renders a JSON template and parses it back.
pub fn render_json<C: Serialize>(name: &str, ctx: &C) -> Result<Value> {
    let text = render_text(name, ctx)?;
    serde_json::from_str(&text).map_err(|e| Error::Template {
        name: name.to_string(),
        detail: format!("rendered document is not valid JSON: {e}"),
    })
}

/// Renders a YAML template (one document) and parses it back into a JSON value.
pub fn render_yaml<C: Serialize>(name: &str, ctx: &C) -> Result<Value> {
    let text = render_text(name, ctx)?;
    parse_yaml(&text).map_err(|detail| Error::Template {
        name: name.to_string(),
        detail: format!("rendered document is not valid YAML: {detail}"),
    })
}

/// Parses one YAML document into a JSON value.
pub fn parse_yaml(text: &str) -> std::result::Result<Value, String> {
    serde_yaml::from_str::<Value>(text).map_err(|e| e.to_string())
}

/// Parses every document of a YAML stream (skipping empty ones).
pub fn parse_yaml_stream(text: &str) -> std::result::Result<Vec<Value>, String> {
    let mut docs = Vec::new();
    for de in serde_yaml::Deserializer::from_str(text) {
        let v = <Value as serde::Deserialize>::deserialize(de).map_err(|e| e.to_string())?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    Ok(docs)
}

/// Compact JSON for passing a document as one argv element.
pub fn compact(v: &Value) -> String {
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strict_undefined_is_an_error() {
        let e = render_json("iam/s3-mountpoint.json.j2", &json!({})).unwrap_err();
        assert!(e.to_string().contains("undefined"), "{e}");
    }

    #[test]
    fn values_cannot_break_out_of_json_strings() {
        let evil = "b\",\"Effect\":\"Deny";
        let v = render_json("iam/s3-mountpoint.json.j2", &json!({ "bucket": evil })).unwrap();
        assert_eq!(
            v["Statement"][0]["Resource"][0],
            json!(format!("arn:aws:s3:::{evil}"))
        );
        assert_eq!(v["Statement"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn values_cannot_break_out_of_yaml() {
        let evil = "x\nkind: Secret\n'\"#";
        let v = render_yaml(
            "k8s/service-account.yaml.j2",
            &json!({"name": evil, "namespace": "ns", "labels": {}, "annotations": {"a": evil}}),
        )
        .unwrap();
        assert_eq!(v["kind"], "ServiceAccount");
        assert_eq!(v["metadata"]["name"], evil);
        assert_eq!(v["metadata"]["annotations"]["a"], evil);
    }

    #[test]
    fn alb_policy_is_embedded_verbatim() {
        let v = render_json("iam/alb-controller-v2.13.0.json", &json!({})).unwrap();
        let reference: Value =
            serde_json::from_str(include_str!("../templates/iam/alb-controller-v2.13.0.json"))
                .unwrap();
        assert_eq!(v, reference);
        assert_eq!(v["Version"], "2012-10-17");
    }
}
