//! Offline validation of model resources against the CRDs' `v1` OpenAPI schemas, as the API
//! server does it: null fields pruned, schema defaults applied, then every rule checked.
//!
//! A small validator of our own rather than the `jsonschema` crate: the CRDs use a small subset
//! (type, properties, required, additionalProperties, items, enum, pattern, min/max, lengths,
//! item counts, `anyOf` of types, `x-kubernetes-int-or-string`, `format: int32`), which fits in a
//! few hundred lines with `regex-lite`; jsonschema costs ~45 dependencies and ~30 s per build, does
//! not range-check int32, does not apply defaults, and needs its errors translated back into
//! Kubernetes field paths anyway. Unknown fields are rejected, as `kubectl apply`'s default
//! strict field validation does.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::{Map, Value};

/// One broken rule: the field path (`spec.server.instanceType`, `spec.worker.env[0].name`) and
/// the rule in words (`must match ^ml\..*`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    pub path: String,
    pub rule: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.rule)
    }
}

/// Removes null-valued fields (the API server prunes them before defaulting) and fills in every
/// schema default for fields that are absent, in objects that exist.
pub(crate) fn apply_defaults(schema: &Value, v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|_, x| !x.is_null());
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (k, s) in props {
                    if !map.contains_key(k) {
                        if let Some(d) = s.get("default") {
                            map.insert(k.clone(), d.clone());
                        }
                    }
                    if let Some(child) = map.get_mut(k) {
                        apply_defaults(s, child);
                    }
                }
            } else if let Some(ap) = schema.get("additionalProperties").filter(|s| s.is_object()) {
                for child in map.values_mut() {
                    apply_defaults(ap, child);
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for child in items {
                    apply_defaults(s, child);
                }
            }
        }
        _ => {}
    }
}

/// Checks `v` against `schema`; returns every violation (empty when valid).
pub(crate) fn validate(schema: &Value, v: &Value, path: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    check(schema, v, path, &mut out);
    out
}

fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn push(out: &mut Vec<Violation>, path: &str, rule: impl Into<String>) {
    out.push(Violation {
        path: if path.is_empty() {
            "(document)".into()
        } else {
            path.to_string()
        },
        rule: rule.into(),
    });
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn type_matches(ty: &str, v: &Value) -> bool {
    match ty {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        // The API server takes 2.0 for an integer, as JSON decoding does.
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => v.is_number(),
        _ => true,
    }
}

fn article(ty: &str) -> String {
    match ty {
        "object" => "an object".into(),
        "array" => "a list".into(),
        "integer" => "an integer".into(),
        other => format!("a {other}"),
    }
}

/// Shows a value inside a rule: strings quoted (escaped), long ones cut.
fn shown(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}...")
    } else {
        s
    }
}

fn check(schema: &Value, v: &Value, path: &str, out: &mut Vec<Violation>) {
    // Type first: the other rules only make sense for the right type.
    let int_or_string = schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if int_or_string {
        if !(v.is_string() || v.is_i64() || v.is_u64()) {
            push(
                out,
                path,
                format!("must be an integer or a string (got {})", type_name(v)),
            );
            return;
        }
    } else if let Some(ty) = schema.get("type").and_then(Value::as_str) {
        if !type_matches(ty, v) {
            push(
                out,
                path,
                format!("must be {} (got {})", article(ty), type_name(v)),
            );
            return;
        }
    }
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
        let ok = any.iter().any(|s| {
            let mut sub = Vec::new();
            check(s, v, path, &mut sub);
            sub.is_empty()
        });
        if !ok {
            let types: Vec<String> = any
                .iter()
                .filter_map(|s| s.get("type").and_then(Value::as_str))
                .map(article)
                .collect();
            push(
                out,
                path,
                format!("must be {} (got {})", types.join(" or "), type_name(v)),
            );
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(v) {
            let list: Vec<String> = allowed.iter().map(|a| a.to_string()).collect();
            push(
                out,
                path,
                format!("must be one of {} (got {})", list.join(", "), shown(v)),
            );
        }
    }
    match v {
        Value::String(s) => check_string(schema, s, v, path, out),
        Value::Number(_) => check_number(schema, v, path, out),
        Value::Array(items) => {
            let n = items.len() as u64;
            if let Some(min) = below(schema, "minItems", n) {
                push(
                    out,
                    path,
                    format!("must have at least {min} items (has {n})"),
                );
            }
            if let Some(max) = above(schema, "maxItems", n) {
                push(
                    out,
                    path,
                    format!("must have at most {max} items (has {n})"),
                );
            }
            if let Some(s) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(s, item, &format!("{path}[{i}]"), out);
                }
            }
        }
        Value::Object(map) => check_object(schema, map, path, out),
        _ => {}
    }
}

/// The schema's lower bound `key` (`minItems`, `minLength`) when the count `n` is below it.
fn below(schema: &Value, key: &str, n: u64) -> Option<u64> {
    schema
        .get(key)
        .and_then(Value::as_u64)
        .filter(|&min| n < min)
}

/// The schema's upper bound `key` (`maxItems`, `maxLength`) when the count `n` is above it.
fn above(schema: &Value, key: &str, n: u64) -> Option<u64> {
    schema
        .get(key)
        .and_then(Value::as_u64)
        .filter(|&max| n > max)
}

fn check_string(schema: &Value, s: &str, v: &Value, path: &str, out: &mut Vec<Violation>) {
    let n = s.chars().count() as u64;
    if let Some(min) = below(schema, "minLength", n) {
        let got = shown(v);
        push(
            out,
            path,
            format!("must be at least {min} characters (got {got})"),
        );
    }
    if let Some(max) = above(schema, "maxLength", n) {
        push(
            out,
            path,
            format!("must be at most {max} characters (got {n})"),
        );
    }
    if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
        match compiled(p) {
            Some(re) if re.is_match(s) => {}
            Some(_) => push(out, path, format!("must match {p} (got {})", shown(v))),
            // A pattern we cannot compile is our defect; the unit tests compile every one.
            None => push(out, path, format!("cannot check the pattern {p}")),
        }
    }
}

fn check_number(schema: &Value, v: &Value, path: &str, out: &mut Vec<Violation>) {
    let x = v.as_f64().unwrap_or(0.0);
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
        if x < min {
            push(out, path, format!("must be >= {} (got {v})", fmt_num(min)));
        }
    }
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
        if x > max {
            push(out, path, format!("must be <= {} (got {v})", fmt_num(max)));
        }
    }
    if schema.get("format").and_then(Value::as_str) == Some("int32") {
        let fits = v
            .as_f64()
            .is_some_and(|i| i >= f64::from(i32::MIN) && i <= f64::from(i32::MAX));
        if !fits {
            push(
                out,
                path,
                format!("must fit in a 32-bit integer (int32) (got {v})"),
            );
        }
    }
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

fn check_object(schema: &Value, map: &Map<String, Value>, path: &str, out: &mut Vec<Violation>) {
    let props = schema.get("properties").and_then(Value::as_object);
    if let Some(req) = schema.get("required").and_then(Value::as_array) {
        for r in req.iter().filter_map(Value::as_str) {
            if map.get(r).is_none_or(Value::is_null) {
                push(out, &child_path(path, r), "is required");
            }
        }
    }
    let additional = schema.get("additionalProperties");
    let preserve = schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    for (k, child) in map {
        if child.is_null() {
            continue;
        }
        if let Some(s) = props.and_then(|p| p.get(k)) {
            check(s, child, &child_path(path, k), out);
        } else if let Some(ap) = additional.filter(|a| a.is_object()) {
            check(ap, child, &format!("{path}[{k}]"), out);
        } else if props.is_some() && !preserve && additional != Some(&Value::Bool(true)) {
            let mut known: Vec<&str> = props
                .map(|p| p.keys().map(String::as_str).collect())
                .unwrap_or_default();
            known.sort_unstable();
            let rule = match closest(k, &known) {
                Some(s) => format!("unknown field (did you mean {s}?)"),
                None => format!("unknown field (known fields: {})", known.join(", ")),
            };
            push(out, &child_path(path, k), rule);
        }
    }
}

/// The known field that a misspelt one most likely meant (case-insensitive match, or an edit
/// distance of at most 2).
fn closest<'a>(k: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = k.to_ascii_lowercase();
    if let Some(s) = known.iter().find(|s| s.to_ascii_lowercase() == lower) {
        return Some(s);
    }
    known
        .iter()
        .map(|s| (edit_distance(&lower, &s.to_ascii_lowercase()), *s))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, s)| s)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Compiled patterns, shared: the CRDs repeat a few dozen patterns many times.
fn compiled(p: &str) -> Option<regex_lite::Regex> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<regex_lite::Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut guard = cache.lock().ok()?;
    guard
        .entry(p.to_string())
        .or_insert_with(|| regex_lite::Regex::new(p).ok())
        .clone()
}

/// Every `pattern` in a schema (for tests: all must compile).
#[cfg(test)]
pub(crate) fn patterns(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    if k == "pattern" {
                        if let Some(p) = c.as_str() {
                            out.push(p.to_string());
                        }
                    } else {
                        walk(c, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|c| walk(c, out)),
            _ => {}
        }
    }
    walk(schema, &mut out);
    out.sort();
    out.dedup();
    out
}

/// True when every pattern compiles (used by tests).
#[cfg(test)]
pub(crate) fn pattern_compiles(p: &str) -> bool {
    compiled(p).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["spec"],
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["name", "flag"],
                    "properties": {
                        "name": {"type": "string", "pattern": "^ml\\..*", "maxLength": 10},
                        "flag": {"type": "boolean", "default": false},
                        "n": {"type": "integer", "format": "int32", "minimum": 0, "default": 1},
                        "kind": {"type": "string", "enum": ["a", "b"]},
                        "res": {"type": "object", "additionalProperties": {
                            "anyOf": [{"type": "integer"}, {"type": "string"}],
                            "x-kubernetes-int-or-string": true,
                            "pattern": "^[0-9]+(Gi)?$"}},
                        "list": {"type": "array", "maxItems": 1, "items": {
                            "type": "object", "required": ["name"],
                            "properties": {"name": {"type": "string"}}}},
                        "nested": {"type": "object", "properties": {
                            "x": {"type": "string", "default": "dx"}}}
                    }
                }
            }
        })
    }

    fn run(v: Value) -> Vec<String> {
        let s = schema();
        let mut v = v;
        apply_defaults(&s, &mut v);
        validate(&s, &v, "").iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn defaults_are_applied_before_required_is_checked() {
        let s = schema();
        let mut v = json!({"spec": {"name": "ml.x", "nested": {}, "kind": null}});
        apply_defaults(&s, &mut v);
        assert_eq!(
            v,
            json!({"spec": {"name": "ml.x", "nested": {"x": "dx"}, "flag": false, "n": 1}})
        );
        assert!(validate(&s, &v, "").is_empty());
    }

    #[test]
    fn rules_name_the_field_path() {
        let errs = run(json!({"spec": {
            "name": "c5.large", "n": -1, "kind": "c",
            "res": {"nvidia.com/gpu": "4x", "cpu": 2, "m": true},
            "list": [{"name": "a"}, {"nam": "b"}],
            "nmae": 1
        }}));
        let want = [
            "spec.name: must match ^ml\\..* (got \"c5.large\")",
            "spec.n: must be >= 0 (got -1)",
            "spec.kind: must be one of \"a\", \"b\" (got \"c\")",
            "spec.res[nvidia.com/gpu]: must match ^[0-9]+(Gi)?$ (got \"4x\")",
            "spec.res[m]: must be an integer or a string (got a boolean)",
            "spec.list: must have at most 1 items (has 2)",
            "spec.list[1].name: is required",
            "spec.list[1].nam: unknown field (did you mean name?)",
            "spec.nmae: unknown field (did you mean name?)",
        ];
        for w in want {
            assert!(errs.iter().any(|e| e == w), "missing {w:?} in {errs:#?}");
        }
        assert_eq!(errs.len(), want.len(), "{errs:#?}");
    }

    #[test]
    fn types_and_int32() {
        let errs = run(json!({"spec": {"name": "ml.x", "n": 3_000_000_000u64, "flag": "yes"}}));
        assert!(errs.contains(&"spec.flag: must be a boolean (got a string)".to_string()));
        assert!(errs
            .iter()
            .any(|e| e.starts_with("spec.n: must fit in a 32-bit integer")));
        assert!(run(json!({"spec": {"name": "ml.x", "n": 2.0}})).is_empty());
        let errs = run(json!({"spec": {"name": "ml.x", "n": 1.5}}));
        assert_eq!(errs, ["spec.n: must be an integer (got a number)"]);
        let errs = run(json!({}));
        assert_eq!(errs, ["spec: is required"]);
    }
}
