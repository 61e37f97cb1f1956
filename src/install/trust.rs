//! IAM trust documents of an installation: the IRSA trust policy each role gets (rendered from
//! `templates/iam/irsa-trust.json.j2`), what a trust policy allows (subjects, verdicts for one
//! ServiceAccount), and policy comparison by meaning. Pure functions of documents: setup renders
//! and compares with them, doctor judges with them.

use serde::Serialize;
use serde_json::Value;

use crate::error::Result;
use crate::render;
use crate::tools::iam::{policy_document, OIDC_CLIENT_ID};

/// The context of `iam/irsa-trust.json.j2`.
#[derive(Serialize)]
struct TrustContext<'a> {
    oidc_provider_arn: &'a str,
    oidc_host: &'a str,
    subject: &'a str,
    sub_like: bool,
    trust_sagemaker: bool,
}

/// The cluster's OIDC identity, as IAM needs it.
#[derive(Debug, Clone, Serialize)]
pub struct Oidc {
    /// `https://oidc.eks.<region>.amazonaws.com/id/<ID>`
    pub issuer: String,
    /// The issuer without `https://` (the condition key prefix).
    pub host: String,
    pub provider_arn: String,
}

impl Oidc {
    pub fn new(account: &str, issuer: &str) -> Self {
        let host = issuer
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .to_string();
        Oidc {
            issuer: issuer.to_string(),
            provider_arn: format!("arn:aws:iam::{account}:oidc-provider/{host}"),
            host,
        }
    }
}

/// Renders the IRSA trust policy for exactly one subject (or a StringLike pattern).
pub fn trust_policy(
    oidc: &Oidc,
    subject: &str,
    like: bool,
    trust_sagemaker: bool,
) -> Result<Value> {
    render::render_json(
        "iam/irsa-trust.json.j2",
        &TrustContext {
            oidc_provider_arn: &oidc.provider_arn,
            oidc_host: &oidc.host,
            subject,
            sub_like: like,
            trust_sagemaker,
        },
    )
}

/// The `:sub` values a trust policy allows (StringEquals and StringLike), for messages and checks.
pub fn trust_subjects(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for st in statements(doc) {
        let Some(cond) = st.get("Condition").and_then(Value::as_object) else {
            continue;
        };
        for (_op, kv) in cond {
            let Some(kv) = kv.as_object() else { continue };
            for (k, v) in kv {
                if k.ends_with(":sub") {
                    match v {
                        Value::String(s) => out.push(s.clone()),
                        Value::Array(a) => {
                            out.extend(a.iter().filter_map(|x| x.as_str().map(str::to_string)))
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    out
}

/// True when a subject pattern (IAM StringLike: `*` and `?`) matches the ServiceAccount subject.
pub fn subject_matches(pattern: &str, subject: &str) -> bool {
    fn m(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => m(&p[1..], s) || (!s.is_empty() && m(p, &s[1..])),
            (Some(b'?'), Some(_)) => m(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => m(&p[1..], &s[1..]),
            _ => false,
        }
    }
    m(pattern.as_bytes(), subject.as_bytes())
}

fn statements(doc: &Value) -> Vec<&Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    }
}

/// Normalises a policy document so equal policies compare equal: one-element lists become
/// scalars, lists of scalars are sorted, object key order is ignored.
pub fn normalize(v: &Value) -> Value {
    match v {
        Value::Array(a) if a.len() == 1 => normalize(&a[0]),
        Value::Array(a) => {
            let mut items: Vec<Value> = a.iter().map(normalize).collect();
            items.sort_by_key(|x| x.to_string());
            Value::Array(items)
        }
        Value::Object(m) => {
            let mut sorted: Vec<(&String, &Value)> = m.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                sorted
                    .into_iter()
                    .map(|(k, v)| (k.clone(), normalize(v)))
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

pub fn same_policy(a: &Value, b: &Value) -> bool {
    normalize(&policy_document(a)) == normalize(&policy_document(b))
}

/// What a trust policy says about one ServiceAccount of one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustVerdict {
    /// Trusts exactly this ServiceAccount through this cluster's provider.
    Exact,
    /// Trusts it, but through a pattern (or no `:sub` condition) that admits others too.
    Broad(String),
    /// Names this cluster's provider, for other ServiceAccounts.
    WrongSubject(Vec<String>),
    /// Trusts only other OIDC providers (another cluster, or a deleted one).
    WrongProvider(Vec<String>),
    /// The `:aud` condition does not admit `sts.amazonaws.com`.
    BadAudience(String),
    /// No statement allows sts:AssumeRoleWithWebIdentity.
    NoWebIdentity,
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn allows(st: &Value, action: &str) -> bool {
    st["Effect"].as_str() == Some("Allow")
        && strings(&st["Action"])
            .iter()
            .any(|a| a == action || a == "sts:*" || a == "*")
}

pub fn judge_trust(doc: &Value, provider_arn: &str, host: &str, subject: &str) -> TrustVerdict {
    let sub_key = format!("{host}:sub");
    let aud_key = format!("{host}:aud");
    let mut other_providers = Vec::new();
    let mut wrong_subjects = Vec::new();
    let mut best: Option<TrustVerdict> = None;
    let mut bad_aud = None;
    for st in statements(doc) {
        if !allows(st, "sts:AssumeRoleWithWebIdentity") {
            continue;
        }
        let fed = strings(&st["Principal"]["Federated"]);
        if !fed.iter().any(|p| p == provider_arn) {
            other_providers.extend(fed);
            continue;
        }
        let mut subs: Vec<(bool, String)> = Vec::new();
        let mut auds: Option<Vec<String>> = None;
        if let Some(cond) = st["Condition"].as_object() {
            for (op, kv) in cond {
                let like = op.contains("Like");
                let Some(kv) = kv.as_object() else { continue };
                for (k, v) in kv {
                    if *k == sub_key {
                        subs.extend(strings(v).into_iter().map(|s| (like, s)));
                    } else if *k == aud_key {
                        auds.get_or_insert_with(Vec::new).extend(strings(v));
                    }
                }
            }
        }
        if let Some(a) = &auds {
            if !a.iter().any(|x| x == OIDC_CLIENT_ID) {
                bad_aud = Some(a.join(", "));
                continue;
            }
        }
        if subs.is_empty() {
            best.get_or_insert(TrustVerdict::Broad(
                "any ServiceAccount (no :sub condition)".into(),
            ));
            continue;
        }
        for (like, pattern) in subs {
            let hit = if like {
                subject_matches(&pattern, subject)
            } else {
                pattern == subject
            };
            if !hit {
                wrong_subjects.push(pattern);
            } else if like && (pattern.contains('*') || pattern.contains('?')) {
                if best != Some(TrustVerdict::Exact) {
                    best = Some(TrustVerdict::Broad(pattern));
                }
            } else {
                best = Some(TrustVerdict::Exact);
            }
        }
    }
    if let Some(b) = best {
        return b;
    }
    if !wrong_subjects.is_empty() {
        return TrustVerdict::WrongSubject(wrong_subjects);
    }
    if let Some(a) = bad_aud {
        return TrustVerdict::BadAudience(a);
    }
    if !other_providers.is_empty() {
        return TrustVerdict::WrongProvider(other_providers);
    }
    TrustVerdict::NoWebIdentity
}

/// True when a trust policy lets an AWS service principal assume the role.
pub fn trusts_service(doc: &Value, service: &str) -> bool {
    statements(doc).iter().any(|st| {
        allows(st, "sts:AssumeRole")
            && strings(&st["Principal"]["Service"])
                .iter()
                .any(|s| s == service)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn trust_names_exactly_one_service_account() {
        let o = Oidc::new(
            "123456789012",
            "https://oidc.eks.us-west-2.amazonaws.com/id/ABC",
        );
        let t = trust_policy(&o, "system:serviceaccount:ns:sa", false, true).unwrap();
        assert_eq!(trust_subjects(&t), ["system:serviceaccount:ns:sa"]);
        assert_eq!(
            t["Statement"][0]["Principal"]["Federated"],
            "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC"
        );
        assert_eq!(
            t["Statement"][0]["Condition"]["StringEquals"]
                ["oidc.eks.us-west-2.amazonaws.com/id/ABC:aud"],
            "sts.amazonaws.com"
        );
        assert_eq!(
            t["Statement"][1]["Principal"]["Service"],
            "sagemaker.amazonaws.com"
        );
        let like = trust_policy(&o, "system:serviceaccount:*:x*", true, false).unwrap();
        assert!(like["Statement"][0]["Condition"]["StringLike"].is_object());
        assert_eq!(like["Statement"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn policies_compare_by_meaning() {
        let a = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:B", "s3:A"], "Resource": ["*"]}]});
        let b = json!({"Statement": {"Resource": "*", "Action": ["s3:A", "s3:B"], "Effect": "Allow"}, "Version": "2012-10-17"});
        assert!(same_policy(&a, &b));
        let c = json!({"Statement": {"Resource": "*", "Action": ["s3:A"], "Effect": "Allow"}, "Version": "2012-10-17"});
        assert!(!same_policy(&a, &c));
    }

    #[test]
    fn string_like_matching() {
        assert!(subject_matches(
            "system:serviceaccount:*:*",
            "system:serviceaccount:a:b"
        ));
        assert!(subject_matches(
            "system:serviceaccount:*:hyperpod-inference-service-account*",
            "system:serviceaccount:ns:hyperpod-inference-service-account-x"
        ));
        assert!(!subject_matches(
            "system:serviceaccount:kube-system:x",
            "system:serviceaccount:kube-system:y"
        ));
    }
}
