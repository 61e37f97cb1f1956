//! Reading a user's manifest for `deploy -f`: one JumpStartModel or InferenceEndpointConfig, as
//! YAML or JSON, from a file or stdin, within the limits of [`crate::input`], and its namespace
//! checked against `--namespace`.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::input;

/// The one document of the manifest at `path` (`-` reads stdin).
pub(crate) fn read(path: &str) -> Result<Value> {
    let bytes = input::read_limited(path, "--filename", "the manifest", input::MAX_MANIFEST)?;
    parse(input::utf8(&bytes, path, "--filename")?, path)
}

/// The one document of a manifest's text; `path` names it in errors.
pub(crate) fn parse(text: &str, path: &str) -> Result<Value> {
    input::check_yaml_shape(text)
        .map_err(|e| Error::invalid("--filename", format!("{path}: {e}")))?;
    let mut docs = crate::render::parse_yaml_stream(text).map_err(|e| {
        Error::invalid(
            "--filename",
            format!("{path} is not valid YAML or JSON: {e}"),
        )
    })?;
    match docs.len() {
        1 => Ok(docs.remove(0)),
        n => Err(Error::invalid(
            "--filename",
            format!(
                "must hold exactly one JumpStartModel or InferenceEndpointConfig ({path} holds {n} documents)"
            ),
        )),
    }
}

/// A manifest that names its namespace must agree with an explicit `--namespace`.
pub(crate) fn check_namespace(doc: &Value, flag: Option<&str>) -> Result<()> {
    let file_ns = doc.pointer("/metadata/namespace").and_then(Value::as_str);
    match (file_ns, flag) {
        (Some(fns), Some(flag)) if fns != flag => Err(Error::invalid(
            "--namespace",
            format!("the manifest says namespace {fns}, the flag says {flag}"),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn exactly_one_document() {
        let doc = parse("kind: JumpStartModel\nmetadata: {name: m}\n", "m.yaml").unwrap();
        assert_eq!(doc["metadata"]["name"], "m");
        let two = parse("a: 1\n---\nb: 2\n", "two.yaml")
            .unwrap_err()
            .to_string();
        assert!(two.contains("two.yaml holds 2 documents"), "{two}");
        let bad = parse("a: [", "bad.yaml").unwrap_err().to_string();
        assert!(bad.contains("bad.yaml is not valid YAML or JSON"), "{bad}");
    }

    #[test]
    fn the_namespace_flag_must_agree_with_the_manifest() {
        let doc = json!({"metadata": {"name": "m", "namespace": "a"}});
        assert!(check_namespace(&doc, None).is_ok());
        assert!(check_namespace(&doc, Some("a")).is_ok());
        let e = check_namespace(&doc, Some("b")).unwrap_err().to_string();
        assert!(
            e.contains("the manifest says namespace a, the flag says b"),
            "{e}"
        );
        assert!(check_namespace(&json!({"metadata": {}}), Some("b")).is_ok());
    }
}
